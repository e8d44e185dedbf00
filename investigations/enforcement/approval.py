"""The four-eyes rule: when an enforcement action must wait for a lead instead of applying at once.

Two ways around a plain "more than N accounts per request" rule are closed here:

* Splitting: 1,000 accounts banned as 40 requests of 25. So the threshold is a
  budget per person over a rolling window (`ENFORCEMENT_APPROVAL_WINDOW_HOURS`):
  every account a person changed *directly* (their own actions that applied
  without review) counts, and a request that would take them over the
  threshold waits. Actions a lead approved do not use the budget: a second
  person already looked at them.
* Undoing: an analyst unbanning accounts right after a lead approved their ban.
  An unban waits for a lead whenever an account's current ban was approved by a
  reviewer, whoever asks (a lead too, and then another lead reviews: nobody
  approves their own request). The alternative, "a non-lead may not lift a ban
  someone else made", was rejected: it lets one lead alone undo what two people
  decided, and blocks an analyst from correcting a colleague's small direct ban,
  which one person could have made and can therefore undo. The rule is "what
  two people decided, two people undo".

Both are checked under the change writers' lock (`services._serialise_change_writers`), so two
requests of one person running at the same time cannot both spend the same budget.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.db.models import Exists, OuterRef, Sum
from django.utils import timezone

from accounts.models import Account
from investigations.enforcement.models import EnforcementAction, EnforcementChange


def direct_changes_in_window(*, actor: User) -> int:
    """How many account changes `actor` made without a reviewer within the rolling window."""
    since = timezone.now() - timedelta(hours=settings.ENFORCEMENT_APPROVAL_WINDOW_HOURS)
    total = EnforcementAction.objects.filter(
        requested_by=actor,
        status=EnforcementAction.Status.APPLIED,
        reviewed_by__isnull=True,
        applied_at__gte=since,
    ).aggregate(n=Sum("changed_count"))["n"]
    return total or 0


def lead_approved_bans(*, action: EnforcementAction) -> int:
    """How many accounts named by `action` are banned now by a ban a reviewer approved."""
    later = EnforcementChange.objects.filter(account_id=OuterRef("account_id"), account_seq__gt=OuterRef("account_seq"))
    return (
        EnforcementChange.objects.filter(
            account__enforcement_items__action=action,
            account__enforcement=Account.Enforcement.BANNED,
            after=Account.Enforcement.BANNED,
            action__reviewed_by__isnull=False,
        )
        .filter(~Exists(later))
        .count()
    )


def approval_reason(*, action: EnforcementAction, actor: User) -> str:
    """Why `action` (items already saved) needs a lead's approval; '' when `actor` may apply it directly."""
    threshold = settings.ENFORCEMENT_APPROVAL_THRESHOLD
    count = action.account_count
    if count > threshold:
        return f"{count} accounts is more than {threshold}, the most one person may change without a lead."
    if action.kind == EnforcementAction.Kind.UNBAN:
        approved = lead_approved_bans(action=action)
        if approved:
            return (
                f"{approved} of these accounts are banned by an action approved by a lead; "
                "lifting such a ban needs a lead's approval too."
            )
    already = direct_changes_in_window(actor=actor)
    if already + count > threshold:
        hours = settings.ENFORCEMENT_APPROVAL_WINDOW_HOURS
        return (
            f"You changed {already} accounts without approval in the last {hours} h; {count} more would exceed "
            f"{threshold}, the most one person may change without a lead in that time."
        )
    return ""
