"""Detection reads for the dashboard and the API. Each selector takes the user and checks the permission."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db.models import Count, Prefetch, Q, QuerySet
from django.shortcuts import get_object_or_404

from accounts.models import Account
from investigations.detection.models import AccountIndicator, AccountLink, DetectionRun, Indicator
from investigations.models import Case, CaseMembership


def _require(user, perm: str = "investigations.view_case") -> None:
    if not (user.is_authenticated and user.has_perm(perm)):
        raise PermissionDenied


def case_list_for_user(
    *, user, status: str | None = None, min_score: float | None = None, account: str | None = None
) -> QuerySet[Case]:
    """Live cases (not merged away), highest risk first, with member and flagged counts."""
    cases = Case.objects.visible_to(user).filter(merged_into__isnull=True)
    if status:
        cases = cases.filter(status=status)
    if min_score is not None:
        cases = cases.filter(risk_score__gte=min_score)
    if account:
        # A subquery, not a join: joining would restrict the member counts below to that account.
        cases = cases.filter(pk__in=CaseMembership.objects.filter(account__account_id=account).values("case_id"))
    return cases.annotate(
        member_count=Count("memberships", distinct=True),
        flagged_count=Count("memberships", filter=Q(memberships__account__flagged_at__isnull=False), distinct=True),
    ).order_by("-risk_score", "id")


def case_get_for_user(*, user, case_id: int) -> Case:
    """One case with its memberships (and accounts) prefetched."""
    memberships = CaseMembership.objects.select_related("account").order_by("-link_strength", "account__account_id")
    return get_object_or_404(
        Case.objects.visible_to(user).prefetch_related(Prefetch("memberships", queryset=memberships)), pk=case_id
    )


def case_shared_indicators(*, user, case: Case, limit: int = 50) -> list[dict]:
    """The values the case's accounts share, most shared first: kind, value, accounts in case, accounts in all."""
    _require(user)
    rows = (
        AccountIndicator.objects.filter(account__memberships__case=case)
        .values("indicator_id", "indicator__kind", "indicator__value", "indicator__account_count")
        .annotate(in_case=Count("account_id"))
        .filter(in_case__gte=2)
        .order_by("-in_case", "indicator__kind")[:limit]
    )
    hide_pii = not user.has_perm("investigations.view_pii")
    return [
        {
            "kind": r["indicator__kind"],
            "kind_label": Indicator.Kind(r["indicator__kind"]).label,
            "value": "" if hide_pii and r["indicator__kind"] == Indicator.Kind.EMAIL_PATTERN else r["indicator__value"],
            "in_case": r["in_case"],
            "in_all": r["indicator__account_count"],
        }
        for r in rows
    ]


def account_indicators(*, user, account: Account) -> list[dict]:
    """Every value the account exposes with how many accounts share it (rarest first)."""
    _require(user, "accounts.view_account")
    hide_pii = not user.has_perm("investigations.view_pii")
    rows = (
        AccountIndicator.objects.filter(account=account)
        .select_related("indicator")
        .order_by("indicator__account_count", "indicator__kind")
    )
    return [
        {
            "kind": r.indicator.kind,
            "kind_label": r.indicator.get_kind_display(),
            "value": "" if hide_pii and r.indicator.kind == Indicator.Kind.EMAIL_PATTERN else r.indicator.value,
            "accounts": r.indicator.account_count,
            "events": r.events,
        }
        for r in rows
    ]


def indicator_accounts(*, user, kind: str, value: str, limit: int = 200) -> list[Account]:
    """Who else has this value: the accounts that expose it."""
    _require(user, "accounts.view_account")
    return list(
        Account.objects.filter(indicator_links__indicator__kind=kind, indicator_links__indicator__value=value).order_by(
            "account_id"
        )[:limit]
    )


def account_links(*, user, account: Account) -> dict:
    """Why an account is where it is: its case membership evidence and its behavioural links."""
    _require(user)
    membership = CaseMembership.objects.filter(account=account).select_related("case").first()
    links = (
        AccountLink.objects.filter(Q(account_a=account) | Q(account_b=account))
        .select_related("account_a", "account_b")
        .order_by("-weight")[:100]
    )
    return {
        "case": membership.case if membership else None,
        "evidence": membership.evidence if membership else [],
        "link_strength": membership.link_strength if membership else 0.0,
        "links": [
            {
                "account": (link.account_b if link.account_a_id == account.pk else link.account_a).account_id,
                "signal": link.signal,
                "signal_label": link.get_signal_display(),
                "weight": link.weight,
                "count": link.count,
            }
            for link in links
        ],
    }


def detection_last_run(*, user) -> DetectionRun | None:
    _require(user)
    return DetectionRun.objects.first()
