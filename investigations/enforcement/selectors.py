"""Reads of the enforcement app. Each takes the user: the permission check is part of the read."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import AnonymousUser
from django.contrib.auth.models import User as AuthUser
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q, QuerySet
from django.shortcuts import get_object_or_404

from accounts.models import Account
from investigations.enforcement.models import EnforcementAction, EnforcementActionItem, EnforcementChange
from investigations.models import Case, CaseMembership

User = AuthUser | AnonymousUser
VIEW_PERMISSION = "investigations.view_case"
# A gateway's service user may hold just this permission (or any role) to poll the change feed.
FEED_PERMISSIONS = ("enforcement.view_enforcementchange", VIEW_PERMISSION)


def _require(user: User, perm: str) -> None:
    if not (user.is_authenticated and user.has_perm(perm)):
        raise PermissionDenied


def action_list_for_user(*, user: User, status: str = "") -> QuerySet[EnforcementAction]:
    """Recent actions, newest first, optionally one status (the approval queue is `pending_approval`)."""
    _require(user, VIEW_PERMISSION)
    actions = EnforcementAction.objects.select_related("requested_by", "reviewed_by", "case")
    return actions.filter(status=status) if status else actions


def action_get_for_user(*, user: User, action_id: int) -> EnforcementAction:
    _require(user, VIEW_PERMISSION)
    return get_object_or_404(
        EnforcementAction.objects.select_related("requested_by", "reviewed_by", "case"), pk=action_id
    )


@dataclass(frozen=True)
class ItemRow:
    """One requested account with the evidence that links it to its case: what the approver reads."""

    account: Account
    was_flagged: bool
    current: str
    case_id: int | None
    evidence: list[str]


def action_items(*, action: EnforcementAction, offset: int, limit: int) -> list[ItemRow]:
    """One page of an action's accounts, each with why it is there (case evidence), in two queries."""
    items = list(
        EnforcementActionItem.objects.filter(action=action)
        .select_related("account")
        .order_by("account_id")[offset : offset + limit]
    )
    memberships = {
        m.account_id: m
        for m in CaseMembership.objects.filter(account_id__in=[i.account_id for i in items]).only(
            "account_id", "case_id", "evidence"
        )
    }
    rows = []
    for item in items:
        membership = memberships.get(item.account_id)
        evidence = [str(e.get("text") or e.get("signal") or "") for e in (membership.evidence if membership else [])]
        rows.append(
            ItemRow(
                account=item.account,
                was_flagged=item.was_flagged,
                current=item.account.get_enforcement_display(),
                case_id=membership.case_id if membership else None,
                evidence=[e for e in evidence if e][:4],
            )
        )
    return rows


@dataclass(frozen=True)
class DeliveryProgress:
    """How far an action's changes have got to the gateway."""

    total: int
    delivered: int
    pending: int
    sending: int
    failed: int

    @property
    def done(self) -> bool:
        return self.delivered == self.total

    @property
    def percent(self) -> int:
        return 100 if not self.total else int(100 * self.delivered / self.total)


def action_progress(*, action: EnforcementAction) -> DeliveryProgress:
    states = EnforcementChange.Delivery
    counts = EnforcementChange.objects.filter(action=action).aggregate(
        total=Count("pk"),
        delivered=Count("pk", filter=Q(delivery_state=states.DELIVERED)),
        pending=Count("pk", filter=Q(delivery_state=states.PENDING)),
        sending=Count("pk", filter=Q(delivery_state=states.SENDING)),
        failed=Count("pk", filter=Q(delivery_state=states.FAILED)),
    )
    return DeliveryProgress(**counts)


def action_changes(*, action: EnforcementAction, state: str = "") -> QuerySet[EnforcementChange]:
    """An action's changes with their delivery state; failed ones first, as those need a look."""
    changes = EnforcementChange.objects.filter(action=action).select_related("account")
    if state:
        changes = changes.filter(delivery_state=state)
    return changes.order_by("pk")


def account_get_for_user(*, user: User, account_pk: int) -> Account:
    _require(user, VIEW_PERMISSION)
    return get_object_or_404(Account, pk=account_pk)


@dataclass(frozen=True)
class AccountHistory:
    changes: list[EnforcementChange]
    pending: list[EnforcementAction]


def account_history_for_user(*, user: User, account: Account) -> AccountHistory:
    """Every ban/unban of the account, newest first, with who asked, who approved and delivery state;
    plus actions naming it that still wait for approval."""
    _require(user, VIEW_PERMISSION)
    changes = list(
        EnforcementChange.objects.filter(account=account)
        .select_related("action__requested_by", "action__reviewed_by")
        .order_by("-account_seq")
    )
    pending = list(
        EnforcementAction.objects.filter(
            status=EnforcementAction.Status.PENDING_APPROVAL, items__account=account
        ).select_related("requested_by")
    )
    return AccountHistory(changes=changes, pending=pending)


@dataclass(frozen=True)
class CaseScope:
    """What a case ban would touch, for the scope choice."""

    case: Case
    flagged: int
    all: int
    banned: int


def case_scope_for_user(*, user: User, case_id: int) -> CaseScope:
    _require(user, VIEW_PERMISSION)
    case = get_object_or_404(Case.objects.visible_to(user), pk=case_id)
    counts = CaseMembership.objects.filter(case=case).aggregate(
        all=Count("pk"),
        flagged=Count("pk", filter=Q(account__flagged_at__isnull=False)),
        banned=Count("pk", filter=Q(account__enforcement=Account.Enforcement.BANNED)),
    )
    return CaseScope(case=case, **counts)


def cases_for_ban_form(*, user: User) -> QuerySet[Case]:
    """Open cases to pick from on the stand-alone ban form."""
    _require(user, VIEW_PERMISSION)
    return Case.objects.visible_to(user).open().only("pk", "title", "status", "risk_score")[:500]


def changes_after_for_user(*, user: User, after: int, limit: int) -> list[EnforcementChange]:
    """The change feed for polling gateways: changes with id > cursor, in id order (ids commit in order)."""
    if not (user.is_authenticated and any(user.has_perm(p) for p in FEED_PERMISSIONS)):
        raise PermissionDenied
    return list(
        EnforcementChange.objects.filter(pk__gt=after).select_related("account", "action").order_by("pk")[:limit]
    )
