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
from config.db import chunked
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


@dataclass(frozen=True)
class Locked:
    """The alerts a bulk action holds locked, and their state before it (the audit entry's `before`)."""

    ids: list[int]
    before: dict[str, dict[str, object]]
    top_score: float


def _lock(alerts: QuerySet[Alert]) -> Locked:
    """Lock the selected alerts until the transaction ends and read their state under the lock.

    Rows are locked in id order, so two bulk actions over overlapping selections
    wait for each other instead of deadlocking; the state is read after locking,
    so `before` is what this action really changed.
    """
    ids = list(alerts.order_by("id").values_list("id", flat=True)[: MAX_BULK + 1])
    if not ids:
        raise ValidationError("No alerts selected.")
    if len(ids) > MAX_BULK:
        raise ValidationError(f"At most {MAX_BULK:,} alerts at once; narrow the filter.")
    rows = []
    for chunk in chunked(ids):
        rows += (
            Alert.objects.select_for_update()
            .filter(id__in=chunk)
            .order_by("id")
            .values_list("id", "alert_id", "status", "case_id", "dismiss_reason", "score")
        )
    return Locked(
        ids=[r[0] for r in rows],
        before={r[1]: {"status": r[2], "case_id": r[3], "dismiss_reason": r[4]} for r in rows},
        top_score=max((float(r[5]) for r in rows), default=0.0),
    )


def _update(ids: list[int], **values: object) -> int:
    return sum(Alert.objects.filter(id__in=chunk).update(**values) for chunk in chunked(ids))


def _audit_bulk(*, actor: AbstractBaseUser, action: str, locked: Locked, reason: str, after: dict) -> None:
    alert_ids = list(locked.before)
    audit_record(
        actor=actor,
        action=action,
        object_type="investigations.alert",
        object_id=alert_ids[0] if len(alert_ids) == 1 else f"{len(alert_ids)} alerts",
        object_repr=", ".join(alert_ids[:5]) + (" …" if len(alert_ids) > 5 else ""),
        reason=reason,
        before=locked.before,
        after={**after, "alerts": alert_ids},
    )


@transaction.atomic
def alerts_acknowledge(*, alerts: QuerySet[Alert], actor: AbstractBaseUser, reason: str = "") -> int:
    locked = _lock(alerts)
    changed = _update(
        locked.ids, status=Alert.Status.ACKNOWLEDGED, triaged_by=actor, triaged_at=timezone.now(), dismiss_reason=""
    )
    _audit_bulk(
        actor=actor, action="alert.acknowledged", locked=locked, reason=reason, after={"status": "acknowledged"}
    )
    return changed


@transaction.atomic
def alerts_dismiss(*, alerts: QuerySet[Alert], actor: AbstractBaseUser, reason: str) -> int:
    """Dismiss as not worth a case; the reason is required and kept on every alert."""
    reason = reason.strip()
    if not reason:
        raise ValidationError("Dismissing alerts needs a reason.")
    locked = _lock(alerts)
    changed = _update(
        locked.ids,
        status=Alert.Status.DISMISSED,
        triaged_by=actor,
        triaged_at=timezone.now(),
        dismiss_reason=reason[:500],
    )
    _audit_bulk(actor=actor, action="alert.dismissed", locked=locked, reason=reason, after={"status": "dismissed"})
    return changed


@transaction.atomic
def alerts_attach_to_case(
    *, alerts: QuerySet[Alert], case: Case, actor: AbstractBaseUser, reason: str = ""
) -> AttachResult:
    """Attach alerts to a case and pin their accounts into it (accounts held by another case stay there)."""
    return _attach(locked=_lock(alerts), case=case, actor=actor, reason=reason)


def _attach(*, locked: Locked, case: Case, actor: AbstractBaseUser, reason: str) -> AttachResult:
    if not case.is_open:
        raise ValidationError(f"Case #{case.pk} is closed; reopen it before attaching alerts.")
    _update(locked.ids, case=case, status=Alert.Status.ACKNOWLEDGED, triaged_by=actor, triaged_at=timezone.now())
    account_pks: set[int] = set()
    for chunk in chunked(locked.ids):
        account_pks |= set(Alert.objects.filter(id__in=chunk).values_list("account_id", flat=True))
    accounts = [a for chunk in chunked(sorted(account_pks)) for a in Account.objects.filter(pk__in=chunk)]
    result = case_services.case_add_accounts(case=case, accounts=accounts, actor=actor, reason=reason)
    _audit_bulk(
        actor=actor,
        action="alert.attached",
        locked=locked,
        reason=reason,
        after={"case": case.pk, "accounts_added": result.added, "accounts_in_other_cases": result.in_other_cases},
    )
    return AttachResult(
        case=case, alerts=len(locked.ids), accounts_added=result.added, accounts_in_other_cases=result.in_other_cases
    )


@transaction.atomic
def case_open_from_alerts(
    *, alerts: QuerySet[Alert], actor: AbstractBaseUser, title: str, reason: str = ""
) -> AttachResult:
    """Open a new case holding the selected alerts and their accounts; its risk starts at the top alert score."""
    locked = _lock(alerts)
    case = case_services.case_create(actor=actor, title=title, reason=reason, risk_score=locked.top_score)
    return _attach(locked=locked, case=case, actor=actor, reason=reason)
