"""The one way to write the audit log."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models

from investigations.models import AuditEntry

SYSTEM = "system"


def _jsonable(value: Any) -> Any:
    """Round-trip through Django's encoder so dates, decimals and UUIDs are stored as text."""
    if value is None:
        return None
    import json

    return json.loads(json.dumps(value, cls=DjangoJSONEncoder))


def audit_record(*, actor: AbstractBaseUser | None, action: str, **fields: Any) -> AuditEntry:
    """Append one row to the audit log (`fields`: the object, reason, before and after of `audit_entry`).

    `actor` None means the system did it (a Celery task, detection). `action` is
    a dotted verb such as `case.status_changed` or `account.banned`. Call this
    inside the same transaction as the change it records.
    """
    entry = audit_entry(actor=actor, action=action, **fields)
    entry.save()
    return entry


def audit_entry(
    *,
    actor: AbstractBaseUser | None,
    action: str,
    obj: models.Model | None = None,
    object_type: str = "",
    object_id: str | int = "",
    object_repr: str = "",
    reason: str = "",
    before: Any = None,
    after: Any = None,
    ip: str | None = None,
) -> AuditEntry:
    """The row `audit_record` writes, unsaved: for callers that record many changes at once and
    write them with `audit_write` (one INSERT per thousand rows, in the same transaction)."""
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or obj.pk
        object_repr = object_repr or str(obj)
    return AuditEntry(
        actor=actor if actor is not None and actor.is_authenticated else None,
        actor_name=actor.get_username() if actor is not None and actor.is_authenticated else SYSTEM,
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        object_repr=object_repr[:200],
        reason=reason,
        before=_jsonable(before),
        after=_jsonable(after),
        ip=ip,
    )


def audit_write(entries: list[AuditEntry]) -> None:
    """Append these rows (from `audit_entry`) to the audit log, in their order."""
    AuditEntry.objects.bulk_create(entries, batch_size=1000)
