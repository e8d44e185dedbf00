"""Reads of the audit log page, behind the `view_audit` permission."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet

from investigations.models import AuditEntry

VIEW_AUDIT = "investigations.view_audit"


@dataclass(frozen=True)
class AuditFilters:
    actor: str = ""
    action: str = ""
    object: str = ""
    date_from: date | None = None
    date_to: date | None = None

    def as_dict(self) -> dict[str, str]:
        """The non-empty filters, as recorded in the audit row of an export."""
        return {k: str(v) for k, v in self.__dict__.items() if v}


def _require(user: User | AnonymousUser) -> None:
    if not (user.is_authenticated and user.has_perm(VIEW_AUDIT)):
        raise PermissionDenied


def audit_entries_for_user(*, user: User | AnonymousUser, filters: AuditFilters) -> QuerySet[AuditEntry]:
    """Entries newest first. Dates are whole days in the user's active time zone, both ends included.

    The object filter matches the object's type, id or name, or an account named in a bulk row's before/after.
    """
    _require(user)
    entries = AuditEntry.objects.all()
    if filters.actor:
        entries = entries.filter(actor_name__icontains=filters.actor)
    if filters.action:
        entries = entries.filter(action__startswith=filters.action)
    if filters.object:
        entries = entries.filter(
            Q(object_type__iexact=filters.object)
            | Q(object_id=filters.object)
            | Q(object_repr__icontains=filters.object)
            # Bulk actions (a ban of 1,500 accounts) are one row naming the accounts in before/after.
            | Q(after__icontains=filters.object)
            | Q(before__icontains=filters.object)
        )
    if filters.date_from:
        entries = entries.filter(created_at__date__gte=filters.date_from)
    if filters.date_to:
        entries = entries.filter(created_at__date__lte=filters.date_to)
    return entries.order_by("-created_at", "-id")


def audit_action_names(*, user: User | AnonymousUser) -> list[str]:
    """Every action name that occurs, for the filter's suggestions."""
    _require(user)
    return list(AuditEntry.objects.order_by("action").values_list("action", flat=True).distinct()[:500])
