"""Triage writes on alerts: acknowledge, dismiss, attach to a case, open a case from alerts.

Each takes a queryset (the selected rows, or every alert matching the queue's
filter) and writes one audit entry naming every alert it changed.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import Account
from investigations.models import Alert, Case
from investigations.services import cases as case_services
from investigations.services.audit import audit_record

# One bulk action changes at most this many alerts, so the audit entry stays readable.
MAX_BULK = 100_000


@dataclass(frozen=True)
class AttachResult:
    case: Case
    alerts: int
    accounts_added: list[str]
    accounts_in_other_cases: list[str]


def _lock_ids(alerts: QuerySet[Alert]) -> list[int]:
    ids = list(alerts.order_by("id").values_list("id", flat=True)[: MAX_BULK + 1])
    if not ids:
        raise ValidationError("No alerts selected.")
    if len(ids) > MAX_BULK:
        raise ValidationError(f"At most {MAX_BULK:,} alerts at once; narrow the filter.")
    return ids


def _audit_bulk(*, actor: AbstractBaseUser, action: str, ids: list[int], reason: str, after: dict) -> None:
    alert_ids = list(Alert.objects.filter(id__in=ids).order_by("id").values_list("alert_id", flat=True))
    audit_record(
        actor=actor,
        action=action,
        object_type="investigations.alert",
        object_id=alert_ids[0] if len(alert_ids) == 1 else f"{len(alert_ids)} alerts",
        object_repr=", ".join(alert_ids[:5]) + (" …" if len(alert_ids) > 5 else ""),
        reason=reason,
        after={**after, "alerts": alert_ids},
    )


@transaction.atomic
def alerts_acknowledge(*, alerts: QuerySet[Alert], actor: AbstractBaseUser, reason: str = "") -> int:
    ids = _lock_ids(alerts)
    changed = Alert.objects.filter(id__in=ids).update(
        status=Alert.Status.ACKNOWLEDGED, triaged_by=actor, triaged_at=timezone.now(), dismiss_reason=""
    )
    _audit_bulk(actor=actor, action="alert.acknowledged", ids=ids, reason=reason, after={"status": "acknowledged"})
    return changed


@transaction.atomic
def alerts_dismiss(*, alerts: QuerySet[Alert], actor: AbstractBaseUser, reason: str) -> int:
    """Dismiss as not worth a case; the reason is required and kept on every alert."""
    reason = reason.strip()
    if not reason:
        raise ValidationError("Dismissing alerts needs a reason.")
    ids = _lock_ids(alerts)
    changed = Alert.objects.filter(id__in=ids).update(
        status=Alert.Status.DISMISSED, triaged_by=actor, triaged_at=timezone.now(), dismiss_reason=reason[:500]
    )
    _audit_bulk(actor=actor, action="alert.dismissed", ids=ids, reason=reason, after={"status": "dismissed"})
    return changed


@transaction.atomic
def alerts_attach_to_case(
    *, alerts: QuerySet[Alert], case: Case, actor: AbstractBaseUser, reason: str = ""
) -> AttachResult:
    """Attach alerts to a case and pin their accounts into it (accounts held by another case stay there)."""
    if not case.is_open:
        raise ValidationError(f"Case #{case.pk} is closed; reopen it before attaching alerts.")
    ids = _lock_ids(alerts)
    Alert.objects.filter(id__in=ids).update(
        case=case, status=Alert.Status.ACKNOWLEDGED, triaged_by=actor, triaged_at=timezone.now()
    )
    accounts = Account.objects.filter(alerts__id__in=ids).distinct()
    result = case_services.case_add_accounts(case=case, accounts=accounts, actor=actor, reason=reason)
    _audit_bulk(
        actor=actor,
        action="alert.attached",
        ids=ids,
        reason=reason,
        after={"case": case.pk, "accounts_added": result.added, "accounts_in_other_cases": result.in_other_cases},
    )
    return AttachResult(
        case=case, alerts=len(ids), accounts_added=result.added, accounts_in_other_cases=result.in_other_cases
    )


@transaction.atomic
def case_open_from_alerts(
    *, alerts: QuerySet[Alert], actor: AbstractBaseUser, title: str, reason: str = ""
) -> AttachResult:
    """Open a new case holding the selected alerts and their accounts; its risk starts at the top alert score."""
    ids = _lock_ids(alerts)
    top = max(Alert.objects.filter(id__in=ids).values_list("score", flat=True))
    case = case_services.case_create(actor=actor, title=title, reason=reason, risk_score=float(top))
    return alerts_attach_to_case(alerts=Alert.objects.filter(id__in=ids), case=case, actor=actor, reason=reason)
