"""Writes of the enforcement app: request, approve, reject and apply bans/unbans; re-send deliveries.

Every function here is atomic and writes the audit log in the same
transaction. Applying an action is bulk SQL (one UPDATE of the accounts, one
multi-row INSERT of changes) so a 1,500-account case is banned in one go.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.db import connection, transaction
from django.db.models import Exists, Max, OuterRef
from django.utils import timezone

from accounts.models import Account
from investigations.enforcement import approval
from investigations.enforcement.models import EnforcementAction, EnforcementActionItem, EnforcementChange
from investigations.models import Case, CaseMembership
from investigations.services.audit import audit_record

BAN_PERMISSION = "investigations.ban_account"
APPROVE_PERMISSION = "investigations.approve_enforcement"
# Any constant: serialises change writers so change ids commit in id order (the polling cursor relies on it).
_CHANGE_LOCK_KEY = 0x48594452


class EnforcementError(ValueError):
    """Bad input for an enforcement request; the message is shown to the user as is."""


@dataclass(frozen=True)
class Targets:
    """The accounts an action names, resolved to primary keys."""

    account_ids: list[int]
    flagged_ids: set[int]


def resolve_accounts(*, identifiers: Sequence[str | int]) -> Targets:
    """Map the provider's account ids (strings) or our primary keys (integers) to accounts.

    Unknown identifiers are an error listing them, so a typo never silently shrinks a ban.
    """
    keys = {i for i in identifiers if isinstance(i, int) and not isinstance(i, bool)}
    names = {str(i).strip() for i in identifiers if not isinstance(i, int)} - {""}
    found = Account.objects.filter(pk__in=keys).values_list("pk", "account_id", "flagged_at")
    by_name = Account.objects.filter(account_id__in=names).values_list("pk", "account_id", "flagged_at")
    rows = {pk: (account_id, flagged_at) for pk, account_id, flagged_at in [*found, *by_name]}
    missing = sorted({str(k) for k in keys - set(rows)} | (names - {name for name, _ in rows.values()}))
    if missing:
        shown = ", ".join(missing[:20]) + (f" and {len(missing) - 20} more" if len(missing) > 20 else "")
        raise EnforcementError(f"Unknown accounts: {shown}.")
    return Targets(
        account_ids=sorted(rows), flagged_ids={pk for pk, (_, flagged_at) in rows.items() if flagged_at is not None}
    )


def resolve_case(*, case: Case, scope: str) -> Targets:
    """The accounts of a case: the flagged ones only, or every member (linked but not flagged too)."""
    if scope not in (EnforcementAction.Scope.FLAGGED, EnforcementAction.Scope.ALL):
        raise EnforcementError("Scope must be 'flagged' or 'all'.")
    members = CaseMembership.objects.filter(case=case).values_list("account_id", "account__flagged_at")
    rows = dict(members)
    flagged = {pk for pk, flagged_at in rows.items() if flagged_at is not None}
    ids = sorted(flagged if scope == EnforcementAction.Scope.FLAGGED else rows)
    return Targets(account_ids=ids, flagged_ids=flagged)


def _clean_reason(reason: str, what: str = "A reason") -> str:
    reason = (reason or "").strip()
    if not reason:
        raise EnforcementError(f"{what} is required.")
    if len(reason) > 2000:
        raise EnforcementError(f"{what} must be at most 2000 characters.")
    return reason


@transaction.atomic
def action_request(
    *,
    actor: User,
    kind: str,
    reason: str,
    accounts: Sequence[str | int] | None = None,
    case: Case | None = None,
    scope: str = "",
) -> EnforcementAction:
    """Ask to ban or unban accounts: a selection, or a case's flagged/all accounts.

    The action applies at once unless the four-eyes rule (`approval.approval_reason`: the
    threshold as a per-person budget over a rolling window, and unbans of lead-approved
    bans) says it waits for a lead (`action_approve`); the reason is kept on the action
    to show the requester and the approver. The target list is fixed now, so the
    approver sees exactly which accounts were asked for.
    """
    if not actor.has_perm(BAN_PERMISSION):
        raise PermissionDenied("You may not ban or unban accounts.")
    if kind not in EnforcementAction.Kind.values:
        raise EnforcementError("Action must be 'ban' or 'unban'.")
    reason = _clean_reason(reason)
    if (case is None) == (not accounts):
        raise EnforcementError("Name either a case (with a scope) or a list of accounts.")
    if case is not None:
        targets = resolve_case(case=case, scope=scope)
    else:
        targets = resolve_accounts(identifiers=list(accounts or []))
        scope = EnforcementAction.Scope.SELECTION
    if not targets.account_ids:
        raise EnforcementError("There are no accounts to act on (a case without flagged accounts?).")

    count = len(targets.account_ids)
    action = EnforcementAction.objects.create(
        kind=kind,
        reason=reason,
        scope=scope,
        case=case,
        requested_by=actor,
        account_count=count,
        status=EnforcementAction.Status.PENDING_APPROVAL,
    )
    EnforcementActionItem.objects.bulk_create(
        [
            EnforcementActionItem(action=action, account_id=pk, was_flagged=pk in targets.flagged_ids)
            for pk in targets.account_ids
        ],
        batch_size=2000,
    )
    # Taken before reading the actor's recent changes: two requests of one person cannot spend one budget twice.
    _serialise_change_writers()
    action.approval_reason = approval.approval_reason(action=action, actor=actor)
    if action.approval_reason:
        action.save(update_fields=["approval_reason"])
    audit_record(
        actor=actor,
        action=f"enforcement.{kind}_requested",
        obj=action,
        reason=reason,
        after={
            "kind": kind,
            "scope": scope,
            "case": case.pk if case else None,
            "accounts": count,
            "needs_approval": action.approval_reason,
        },
    )
    if not action.approval_reason:
        _apply(action=action, actor=actor)
    return action


@transaction.atomic
def action_approve(*, action_id: int, actor: User, comment: str) -> EnforcementAction:
    """A lead approves someone else's pending action, which then applies."""
    action = _lock_pending_for_review(action_id=action_id, actor=actor)
    comment = (comment or "").strip()[:2000]
    _review(action=action, actor=actor, comment=comment, approved=True)
    _apply(action=action, actor=actor)
    return action


@transaction.atomic
def action_reject(*, action_id: int, actor: User, comment: str) -> EnforcementAction:
    """A lead rejects someone else's pending action; nothing changes on the accounts."""
    action = _lock_pending_for_review(action_id=action_id, actor=actor)
    comment = _clean_reason(comment, "A comment")
    _review(action=action, actor=actor, comment=comment, approved=False)
    return action


def _lock_pending_for_review(*, action_id: int, actor: User) -> EnforcementAction:
    if not actor.has_perm(APPROVE_PERMISSION):
        raise PermissionDenied("Only a lead may approve or reject enforcement actions.")
    action = EnforcementAction.objects.select_for_update().filter(pk=action_id).first()
    if action is None:
        raise EnforcementError(f"There is no enforcement action {action_id}.")
    if action.requested_by_id == actor.pk:
        raise PermissionDenied("Nobody approves or rejects their own request.")
    if not action.is_pending:
        raise EnforcementError(f"Action {action.pk} is already {action.get_status_display().lower()}.")
    return action


def _review(*, action: EnforcementAction, actor: User, comment: str, approved: bool) -> None:
    before = {"status": action.status}
    action.reviewed_by = actor
    action.reviewed_at = timezone.now()
    action.review_comment = comment
    if not approved:
        action.status = EnforcementAction.Status.REJECTED
    action.save(update_fields=["reviewed_by", "reviewed_at", "review_comment", "status"])
    audit_record(
        actor=actor,
        action="enforcement.approved" if approved else "enforcement.rejected",
        obj=action,
        reason=comment,
        before=before,
        after={"status": EnforcementAction.Status.APPLIED if approved else EnforcementAction.Status.REJECTED},
    )


def _serialise_change_writers() -> None:
    """Apply one action at a time (transaction-scoped lock; SQLite serialises writers anyway).

    So change ids become visible in id order (the polling cursor relies on it), and two overlapping
    actions never read the same "before" state.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_CHANGE_LOCK_KEY])


def _apply(*, action: EnforcementAction, actor: User) -> None:
    """Set the accounts' state in bulk and write one change (history + outbox row) per account that changed.

    Accounts already in the target state are left alone: banning twice is harmless. The accounts are
    selected through the action's items (a subquery), so no statement carries 1,500 parameters.
    """
    from investigations.enforcement import tasks  # tasks import delivery, not services: no cycle at load

    _serialise_change_writers()
    target = action.target_state
    named = Account.objects.filter(enforcement_items__action=action)
    # No row locks needed for this read: only these services change `enforcement`, and they run one at a
    # time (the advisory lock above on PostgreSQL, the database write lock on SQLite).
    rows = list(named.order_by("pk").values_list("pk", "account_id", "enforcement"))
    changing = [(pk, name, state) for pk, name, state in rows if state != target]
    now = timezone.now()
    if connection.vendor == "postgresql":
        _insert_changes_sql(action=action, target=target, now=now)
    else:
        _insert_changes_orm(action=action, target=target, now=now, before={pk: state for pk, _, state in changing})
    named.exclude(enforcement=target).update(enforcement=target, enforcement_changed_at=now)
    action.status = EnforcementAction.Status.APPLIED
    action.applied_at = now
    action.changed_count = len(changing)
    action.save(update_fields=["status", "applied_at", "changed_count"])
    audit_record(
        actor=actor,
        action=f"enforcement.{action.kind}_applied",
        obj=action,
        reason=action.reason,
        before={"enforcement": {name: state for _, name, state in changing}},
        after={
            "enforcement": target,
            "accounts": [name for _, name, _ in changing],
            "unchanged": len(rows) - len(changing),
        },
    )
    if changing:
        tasks.deliver_changes.delay_on_commit()


def _insert_changes_sql(*, action: EnforcementAction, target: str, now: datetime) -> None:
    """One INSERT ... SELECT: the database numbers each account's change and draws its idempotency key.

    Runs before the accounts are updated, so `before` is read from their current state. Rows are
    inserted in account order, so their ids (the polling cursor) follow it.
    """
    # Table names come from model metadata; every value is a parameter.
    change, account, item = (m._meta.db_table for m in (EnforcementChange, Account, EnforcementActionItem))
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {change} (action_id, account_id, kind, before, after, account_seq, created_at,
                                  idempotency_key, delivery_state, attempts, last_error, next_attempt_at)
            SELECT %s, a.id, %s, a.enforcement, %s,
                   COALESCE((SELECT max(c.account_seq) FROM {change} c WHERE c.account_id = a.id), 0) + 1,
                   %s, gen_random_uuid(), %s, 0, '', %s
            FROM {item} i JOIN {account} a ON a.id = i.account_id
            WHERE i.action_id = %s AND a.enforcement <> %s
            ORDER BY a.id
            """,
            [action.pk, action.kind, target, now, EnforcementChange.Delivery.PENDING, now, action.pk, target],
        )


def _insert_changes_orm(*, action: EnforcementAction, target: str, now: datetime, before: dict[int, str]) -> None:
    """The portable path (SQLite, the embedded demo): number the changes in Python, one bulk INSERT."""
    changing = sorted(before)
    last_seq = dict(
        EnforcementChange.objects.filter(account_id__in=changing)
        .values("account_id")
        .annotate(m=Max("account_seq"))
        .values_list("account_id", "m")
    )
    EnforcementChange.objects.bulk_create(
        [
            EnforcementChange(
                action=action,
                account_id=pk,
                kind=action.kind,
                before=before[pk],
                after=target,
                account_seq=last_seq.get(pk, 0) + 1,
                created_at=now,
                next_attempt_at=now,
            )
            for pk in changing
        ],
        batch_size=2000,
    )


@transaction.atomic
def changes_resend(*, actor: User, action: EnforcementAction, change_id: int | None = None) -> int:
    """A lead re-sends one change, or every undelivered change of an action, now (same idempotency keys).

    A change a worker is sending right now is left to that worker. Returns how many were queued.
    """
    from investigations.enforcement import tasks

    if not actor.has_perm(APPROVE_PERMISSION):
        raise PermissionDenied("Only a lead may re-send deliveries.")
    changes = EnforcementChange.objects.filter(action=action).exclude(delivery_state=EnforcementChange.Delivery.SENDING)
    if change_id is not None:
        # Only an account's latest change may go again: an older one would arrive after a newer one.
        later = EnforcementChange.objects.filter(account_id=OuterRef("account_id"), pk__gt=OuterRef("pk"))
        changes = changes.filter(pk=change_id).exclude(Exists(later))
    else:
        changes = changes.exclude(delivery_state=EnforcementChange.Delivery.DELIVERED)
    ids = list(changes.values_list("pk", flat=True))
    if not ids:
        raise EnforcementError(
            "Nothing to re-send: the change is being sent right now, a newer change of its account exists, "
            "or everything is delivered."
        )
    EnforcementChange.objects.filter(pk__in=ids).update(
        delivery_state=EnforcementChange.Delivery.PENDING, next_attempt_at=timezone.now(), lease_until=None
    )
    audit_record(
        actor=actor,
        action="enforcement.delivery_resent",
        obj=action,
        reason="Re-sent to the API gateway",
        after={"changes": ids if len(ids) <= 50 else len(ids)},
    )
    tasks.deliver_changes.delay_on_commit()
    return len(ids)
