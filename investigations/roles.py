"""The four roles, each a Django group, and the permissions each one carries.

Roles are cumulative (an analyst can do what a viewer can, a lead what an
analyst can). Code checks permissions (`user.has_perm("investigations.ban_account")`),
never group names, so the mapping below is the single place that says who may do what.
"""

from __future__ import annotations

from django.db import models


class Role(models.TextChoices):
    VIEWER = "viewer"
    ANALYST = "analyst"
    LEAD = "lead"
    ADMIN = "admin"


_VIEWER = [
    "accounts.view_account",
    "accounts.view_usageevent",
    "ingest.view_batch",
    "investigations.view_alert",
    "investigations.view_case",
    "investigations.view_casemembership",
    "investigations.view_note",
]
_ANALYST = [
    *_VIEWER,
    "investigations.view_pii",
    "investigations.triage_alert",
    "investigations.manage_case",
    "investigations.upload_batch",
    "investigations.ban_account",
    "investigations.export_indicators",
    "investigations.add_note",
]
_LEAD = [
    *_ANALYST,
    "investigations.approve_enforcement",
    "investigations.approve_sharing",
    "investigations.view_audit",
    "investigations.view_auditentry",
]
_ADMIN = [*_LEAD, "investigations.manage_partners"]

ROLE_PERMISSIONS: dict[str, list[str]] = {
    Role.VIEWER: _VIEWER,
    Role.ANALYST: _ANALYST,
    Role.LEAD: _LEAD,
    Role.ADMIN: _ADMIN,
}

# Highest first: a user's displayed role is the highest group they belong to.
ROLE_ORDER = [Role.ADMIN, Role.LEAD, Role.ANALYST, Role.VIEWER]


def role_of(user: object) -> str:
    """The user's highest role name, or '' for a user with none."""
    if not getattr(user, "is_authenticated", False):
        return ""
    if getattr(user, "is_superuser", False):
        return Role.ADMIN
    names = {g.name for g in user.groups.all()}  # type: ignore[attr-defined]
    return next((role for role in ROLE_ORDER if role in names), "")


def sync_role_groups(**kwargs: object) -> None:
    """Create the role groups and give each exactly its permissions (idempotent).

    Connected to `post_migrate`, so every `migrate` brings the groups in line with
    ROLE_PERMISSIONS, and so does every database flush that Django follows with
    post_migrate (transactional tests), which would otherwise leave no groups.
    """
    from django.apps import apps as global_apps
    from django.contrib.auth.management import create_permissions
    from django.contrib.auth.models import Group, Permission
    from django.contrib.contenttypes.management import create_contenttypes

    # The permissions of every app must exist before they are attached.
    for app_config in global_apps.get_app_configs():
        create_contenttypes(app_config, verbosity=0)
        create_permissions(app_config, verbosity=0)
    for role, dotted_names in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        wanted = []
        for dotted in dotted_names:
            app_label, codename = dotted.split(".")
            wanted.append(Permission.objects.get(content_type__app_label=app_label, codename=codename))
        group.permissions.set(wanted)
