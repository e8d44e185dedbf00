"""Writes on cases: workflow, assignment, membership (add, merge, split, move). Each writes the audit log."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.models import Account
from config.db import chunked
from investigations.models import Alert, Case, CaseMembership
from investigations.services.audit import audit_record
from investigations.services.figures import figures_refresh_later


@dataclass(frozen=True)
class MembershipResult:
    """Accounts added to a case, and those left where they were because another case holds them."""

    added: list[str]
    in_other_cases: list[str]


def _touch(case: Case) -> None:
    # Detection must not silently undo an analyst's work on this case from now on.
    case.analyst_touched_at = timezone.now()


def _case_state(case: Case) -> dict[str, object]:
    return {
        "status": case.status,
        "resolution": case.resolution,
        "assignee": case.assignee.get_username() if case.assignee else None,
        "title": case.title,
    }


@transaction.atomic
def case_create(*, actor: AbstractBaseUser, title: str, reason: str = "", risk_score: float = 0.0) -> Case:
    """Open a case by hand (detection opens its own through the detection services)."""
    title = title.strip()
    if not title:
        raise ValidationError("A new case needs a title.")
    case = Case.objects.create(title=title[:200], risk_score=risk_score, analyst_touched_at=timezone.now())
    audit_record(actor=actor, action="case.created", obj=case, reason=reason, after=_case_state(case))
    return case


@transaction.atomic
def case_change_status(
    *, case: Case, actor: AbstractBaseUser, status: str, resolution: str = "", reason: str = ""
) -> Case:
    """Move a case along the workflow; closing requires a resolution, reopening clears it."""
    case = Case.objects.select_for_update(of=("self",)).select_related("assignee").get(pk=case.pk)
    if case.merged_into_id:
        raise ValidationError(f"Case #{case.pk} was merged into #{case.merged_into_id}; work on that case instead.")
    if status not in case.next_statuses:
        raise ValidationError(f"A {case.get_status_display()} case cannot move to {status}.")
    if status == Case.Status.CLOSED and resolution not in Case.Resolution.values:
        raise ValidationError("Closing a case needs a resolution: confirmed attack, legitimate or inconclusive.")
    before = _case_state(case)
    case.status = status
    case.resolution = resolution if status == Case.Status.CLOSED else ""
    case.closed_at = timezone.now() if status == Case.Status.CLOSED else None
    _touch(case)
    case.save(update_fields=["status", "resolution", "closed_at", "analyst_touched_at", "updated_at"])
    audit_record(
        actor=actor, action="case.status_changed", obj=case, reason=reason, before=before, after=_case_state(case)
    )
    return case


@transaction.atomic
def case_assign(*, case: Case, actor: AbstractBaseUser, assignee: AbstractBaseUser | None, reason: str = "") -> Case:
    """Give the case to a user who may work it (or to nobody); a viewer or inactive user is refused."""
    if assignee is not None and not (assignee.is_active and assignee.has_perm("investigations.manage_case")):
        raise ValidationError(f"{assignee.get_username()} may not manage cases and cannot be assigned one.")
    case = Case.objects.select_for_update(of=("self",)).select_related("assignee").get(pk=case.pk)
    before = _case_state(case)
    case.assignee = assignee  # type: ignore[assignment]
    _touch(case)
    case.save(update_fields=["assignee", "analyst_touched_at", "updated_at"])
    audit_record(actor=actor, action="case.assigned", obj=case, reason=reason, before=before, after=_case_state(case))
    return case


def _lock_cases(*pks: int) -> dict[int, Case]:
    """Lock cases one by one in pk order, so two writers touching the same pair cannot deadlock."""
    return {pk: Case.objects.select_for_update().get(pk=pk) for pk in sorted(set(pks))}


def _require_workable_target(target: Case) -> None:
    if target.merged_into_id:
        raise ValidationError(f"Case #{target.pk} was merged into #{target.merged_into_id}; use that case.")
    if not target.is_open:
        raise ValidationError(f"Case #{target.pk} is closed; reopen it first.")


def _add_accounts(*, case: Case, accounts: Iterable[Account]) -> MembershipResult:
    accounts = list(accounts)
    held: dict[str, int] = {}
    for chunk in chunked(accounts):
        held.update(CaseMembership.objects.filter(account__in=chunk).values_list("account__account_id", "case_id"))
    added = [a for a in accounts if a.account_id not in held]
    CaseMembership.objects.bulk_create(
        [
            CaseMembership(
                case=case,
                account=a,
                source=CaseMembership.Source.ANALYST,
                pinned=True,
                evidence=[{"signal": "analyst", "value": "", "weight": 1.0, "text": "Added by an analyst"}],
                link_strength=1.0,
            )
            for a in added
        ]
    )
    others = sorted(aid for aid, cid in held.items() if cid != case.pk)
    return MembershipResult(added=sorted(a.account_id for a in added), in_other_cases=others)


@transaction.atomic
def case_add_accounts(
    *, case: Case, accounts: Iterable[Account], actor: AbstractBaseUser, reason: str = ""
) -> MembershipResult:
    """Pin accounts into a case. Accounts already in another case stay there (use move for those)."""
    case = Case.objects.select_for_update().get(pk=case.pk)
    result = _add_accounts(case=case, accounts=accounts)
    _touch(case)
    case.save(update_fields=["analyst_touched_at", "updated_at"])
    if result.added:
        audit_record(
            actor=actor,
            action="case.accounts_added",
            obj=case,
            reason=reason,
            after={"accounts": result.added, "left_in_other_cases": result.in_other_cases},
        )
        figures_refresh_later([case.pk])
    return result


@transaction.atomic
def case_merge(*, source: Case, target: Case, actor: AbstractBaseUser, reason: str) -> Case:
    """Fold `source` into `target`: its accounts and alerts move, and it closes pointing at the target."""
    if source.pk == target.pk:
        raise ValidationError("A case cannot be merged into itself.")
    if not reason.strip():
        raise ValidationError("Say why the cases are merged.")
    locked = _lock_cases(source.pk, target.pk)
    source, target = locked[source.pk], locked[target.pk]
    if source.merged_into_id or not source.is_open:
        raise ValidationError(f"Case #{source.pk} is closed and cannot be merged.")
    # Checked under the lock: the target may have been closed or merged since the form was shown.
    _require_workable_target(target)
    moved = list(CaseMembership.objects.filter(case=source).values_list("account__account_id", flat=True))
    CaseMembership.objects.filter(case=source).update(case=target)
    alerts = Alert.objects.filter(case=source).update(case=target)
    before = _case_state(source)
    source.status, source.merged_into, source.closed_at = Case.Status.CLOSED, target, timezone.now()
    _touch(source)
    source.save(update_fields=["status", "merged_into", "closed_at", "analyst_touched_at", "updated_at"])
    target.risk_score = max(target.risk_score, source.risk_score)
    _touch(target)
    target.save(update_fields=["risk_score", "analyst_touched_at", "updated_at"])
    audit_record(
        actor=actor,
        action="case.merged_away",
        obj=source,
        reason=reason,
        before=before,
        after={**_case_state(source), "merged_into": target.pk, "accounts": len(moved)},
    )
    audit_record(
        actor=actor,
        action="case.merged",
        obj=target,
        reason=reason,
        after={"merged_from": source.pk, "accounts": moved, "alerts": alerts},
    )
    figures_refresh_later([target.pk])
    return target


@transaction.atomic
def case_split(*, case: Case, account_ids: list[str], actor: AbstractBaseUser, title: str, reason: str) -> Case:
    """Move the selected accounts (and their alerts) out of a case into a new one, pinned there."""
    if not account_ids:
        raise ValidationError("Select the accounts to split off.")
    if not reason.strip():
        raise ValidationError("Say why these accounts are split off.")
    case = Case.objects.select_for_update().get(pk=case.pk)
    members = CaseMembership.objects.filter(case=case, account__account_id__in=account_ids)
    moving = sorted(members.values_list("account__account_id", flat=True))
    if not moving:
        raise ValidationError("None of the selected accounts is in this case.")
    if len(moving) == CaseMembership.objects.filter(case=case).count():
        raise ValidationError("Splitting off every account would leave the case empty; rename it instead.")
    new_case = case_create(
        actor=actor, title=title or f"Split from #{case.pk}", reason=reason, risk_score=case.risk_score
    )
    account_pks = list(members.values_list("account_id", flat=True))
    CaseMembership.objects.filter(pk__in=members.values("pk")).update(
        case=new_case, pinned=True, source=CaseMembership.Source.ANALYST
    )
    Alert.objects.filter(case=case, account_id__in=account_pks).update(case=new_case)
    _touch(case)
    case.save(update_fields=["analyst_touched_at", "updated_at"])
    audit_record(
        actor=actor, action="case.split", obj=case, reason=reason, after={"accounts": moving, "new_case": new_case.pk}
    )
    audit_record(
        actor=actor,
        action="case.split_from",
        obj=new_case,
        reason=reason,
        after={"accounts": moving, "split_from": case.pk},
    )
    figures_refresh_later([case.pk, new_case.pk])
    return new_case


@transaction.atomic
def case_move_account(*, account: Account, target: Case, actor: AbstractBaseUser, reason: str) -> CaseMembership:
    """Put one account in another case and pin it there, so detection leaves it in place."""
    if not reason.strip():
        raise ValidationError("Say why the account moves.")
    seen_source = CaseMembership.objects.filter(account=account).values_list("case_id", flat=True).first()
    # Cases first (pk order, like merge), then the membership: the same lock order as every other writer.
    target = _lock_cases(target.pk, *([seen_source] if seen_source else []))[target.pk]
    _require_workable_target(target)
    membership = CaseMembership.objects.select_for_update().filter(account=account).first()
    source_id = membership.case_id if membership else None
    if source_id != seen_source:
        raise ValidationError(f"{account.account_id} changed case meanwhile; reload and try again.")
    if source_id == target.pk:
        raise ValidationError(f"{account.account_id} is already in case #{target.pk}.")
    if membership is None:
        membership = CaseMembership(account=account, evidence=[], link_strength=1.0)
    membership.case = target
    membership.pinned = True
    membership.source = CaseMembership.Source.ANALYST
    membership.save()
    Alert.objects.filter(account=account, case_id=source_id).update(case=target)
    now = timezone.now()
    Case.objects.filter(pk__in=[target.pk, *([source_id] if source_id else [])]).update(
        analyst_touched_at=now, updated_at=now
    )
    detail = {"account": account.account_id, "from_case": source_id, "to_case": target.pk}
    audit_record(actor=actor, action="case.account_moved_in", obj=target, reason=reason, after=detail)
    if source_id:
        audit_record(
            actor=actor,
            action="case.account_moved_out",
            object_type="investigations.case",
            object_id=source_id,
            object_repr=f"#{source_id}",
            reason=reason,
            after=detail,
        )
    figures_refresh_later([target.pk, *([source_id] if source_id else [])])
    return membership
