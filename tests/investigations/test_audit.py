"""The audit log is append-only, in the database itself."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, transaction

from investigations.models import AuditEntry
from investigations.roles import ROLE_PERMISSIONS, Role, role_of
from investigations.services.audit import audit_record

pytestmark = pytest.mark.django_db

DB_REFUSED = DatabaseError


def test_it_records_who_what_and_why(analyst):
    entry = audit_record(
        actor=analyst,
        action="case.status_changed",
        object_type="investigations.case",
        object_id=7,
        reason="seen enough",
        before={"status": "new"},
        after={"status": "closed"},
    )
    entry.refresh_from_db()
    assert (entry.actor_name, entry.object_id, entry.before, entry.after) == (
        analyst.username,
        "7",
        {"status": "new"},
        {"status": "closed"},
    )


def test_it_refuses_to_update_an_audit_row():
    entry = audit_record(actor=None, action="system.test")
    with pytest.raises(DB_REFUSED), transaction.atomic():
        AuditEntry.objects.filter(pk=entry.pk).update(reason="rewritten")
    assert AuditEntry.objects.get(pk=entry.pk).reason == ""


def test_it_refuses_to_delete_an_audit_row():
    entry = audit_record(actor=None, action="system.test")
    with pytest.raises(DB_REFUSED), transaction.atomic():
        AuditEntry.objects.filter(pk=entry.pk).delete()
    assert AuditEntry.objects.filter(pk=entry.pk).exists()


@pytest.mark.parametrize(("role", "perm", "allowed"), [
    (Role.VIEWER, "investigations.view_case", True),
    (Role.VIEWER, "investigations.view_pii", False),
    (Role.VIEWER, "investigations.ban_account", False),
    (Role.ANALYST, "investigations.ban_account", True),
    (Role.ANALYST, "investigations.approve_enforcement", False),
    (Role.LEAD, "investigations.approve_enforcement", True),
    (Role.LEAD, "investigations.manage_partners", False),
    (Role.ADMIN, "investigations.manage_partners", True),
])  # fmt: skip
def test_role_groups_carry_their_permissions(role, perm, allowed):
    from tests.conftest import make_user

    user = make_user(f"u-{role}", role)
    assert user.has_perm(perm) is allowed
    assert role_of(user) == role
    assert (perm in ROLE_PERMISSIONS[role]) is allowed


def test_login_success_and_failure_are_audited(client, analyst):
    client.post("/login/", {"username": analyst.username, "password": "wrong"})
    client.post("/login/", {"username": analyst.username, "password": "pw-for-tests-only"})
    actions = list(AuditEntry.objects.order_by("id").values_list("action", flat=True))
    assert actions[-2:] == ["auth.login_failed", "auth.login"]
