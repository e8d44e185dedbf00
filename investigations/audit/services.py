"""Writes of the audit page: exporting the log is itself a recorded event."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.db import transaction

from investigations.audit.selectors import VIEW_AUDIT, AuditFilters
from investigations.services.audit import audit_record


@transaction.atomic
def audit_export_record(*, actor: User, filters: AuditFilters, rows: int, ip: str | None) -> None:
    """Record who exported which part of the audit log (the filters) and how many rows, before the file goes out."""
    if not actor.has_perm(VIEW_AUDIT):
        raise PermissionDenied
    audit_record(
        actor=actor,
        action="audit.exported",
        object_type="investigations.auditentry",
        object_repr="audit log CSV export",
        reason="CSV export",
        after={"filters": filters.as_dict(), "rows": rows},
        ip=ip,
    )
