"""Reads behind the cases list and the case page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, User
from django.core.paginator import Page, Paginator
from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.shortcuts import get_object_or_404

from accounts.models import Account, UsageEvent
from investigations.models import Alert, AuditEntry, Case, CaseMembership, Note
from investigations.selectors import search
from investigations.selectors.snapshots import cached_aggregate, case_members_version, events_version
from investigations.selectors.usage import case_account_totals

CASE_PAGE_SIZE = 25
MEMBER_PAGE_SIZE = 50

# Size bands of the cases list: URL value -> (min accounts, max accounts or None).
SIZES: dict[str, tuple[int, int | None]] = {
    "1-9": (1, 9),
    "10-99": (10, 99),
    "100-999": (100, 999),
    "1000+": (1000, None),
}

MEMBER_SORTS = {
    "account": ("account__account_id",),
    "-strength": ("-link_strength", "account__account_id"),
    "-alerts": ("-alert_count", "account__account_id"),
    "state": ("-account__enforcement", "account__flagged_at", "account__account_id"),
    "-requests": (),  # sorted from the stored per-account totals
    "-tokens": (),
}
DEFAULT_MEMBER_SORT = "-strength"


@dataclass(frozen=True)
class CaseFilters:
    status: str = ""
    risk: str = ""
    assignee: str = ""  # a user id, "me" is resolved by the form, "none" for unassigned
    size: str = ""
    q: str = ""


def cases_visible_to(user: AbstractBaseUser | AnonymousUser) -> QuerySet[Case]:
    return Case.objects.visible_to(user)


def _with_counts(qs: QuerySet[Case], *, new_alerts: bool = True) -> QuerySet[Case]:
    members = (
        CaseMembership.objects.filter(case=OuterRef("pk")).order_by().values("case").annotate(c=Count("id")).values("c")
    )
    # New alerts on the case's accounts, whether or not an analyst attached them to the case.
    new_alert_counts = (
        Alert.objects.filter(account__memberships__case=OuterRef("pk"), status=Alert.Status.NEW)
        .order_by()
        .values("account__memberships__case")
        .annotate(c=Count("id"))
        .values("c")
    )
    qs = qs.annotate(member_count=Coalesce(Subquery(members), 0))
    return qs.annotate(new_alert_count=Coalesce(Subquery(new_alert_counts), 0)) if new_alerts else qs


def case_filter(*, user: AbstractBaseUser | AnonymousUser, filters: CaseFilters) -> QuerySet[Case]:
    qs = _with_counts(cases_visible_to(user).select_related("assignee"))
    if filters.status == "open":
        qs = qs.open()
    elif filters.status:
        qs = qs.filter(status=filters.status)
    if filters.risk == Case.RiskLevel.HIGH:
        qs = qs.filter(risk_score__gte=Case.RISK_HIGH)
    elif filters.risk == Case.RiskLevel.MEDIUM:
        qs = qs.filter(risk_score__gte=Case.RISK_MEDIUM, risk_score__lt=Case.RISK_HIGH)
    elif filters.risk == Case.RiskLevel.LOW:
        qs = qs.filter(risk_score__lt=Case.RISK_MEDIUM)
    if filters.assignee == "none":
        qs = qs.filter(assignee__isnull=True)
    elif filters.assignee.isdigit():
        qs = qs.filter(assignee_id=int(filters.assignee))
    if filters.size in SIZES:
        low, high = SIZES[filters.size]
        qs = qs.filter(member_count__gte=low)
        if high is not None:
            qs = qs.filter(member_count__lte=high)
    if filters.q.strip():
        qs = qs.filter(pk__in=search.case_ids_matching(user=user, query=filters.q))
    return qs.order_by("-risk_score", "-created_at", "-id")


def case_page(*, user: AbstractBaseUser | AnonymousUser, filters: CaseFilters, page_number: int | str) -> Page:
    return Paginator(case_filter(user=user, filters=filters), CASE_PAGE_SIZE).get_page(page_number)


def case_get_for_user(*, user: AbstractBaseUser | AnonymousUser, case_id: int) -> Case:
    """The case with its member count, or 404 for a case the user may not see.

    The case page counts alerts once, in `case_alert_summary`, so they are not annotated here.
    """
    qs = _with_counts(cases_visible_to(user).select_related("assignee"), new_alerts=False)
    return get_object_or_404(qs, pk=case_id)


def open_cases_for_picker(*, user: AbstractBaseUser | AnonymousUser, limit: int = 200) -> list[Case]:
    """Open cases to offer in "attach to case" and "merge into" drop-downs, riskiest first."""
    return list(cases_visible_to(user).open().only("id", "title", "risk_score").order_by("-risk_score", "-id")[:limit])


def assignable_user_queryset() -> QuerySet[User]:
    """Users who may work a case: active and holding manage_case (through a role group or directly)."""
    perm = {"permissions__codename": "manage_case", "permissions__content_type__app_label": "investigations"}
    holders = (
        Q(**{f"groups__{k}": v for k, v in perm.items()})
        | Q(**{f"user_{k}": v for k, v in perm.items()})
        | Q(is_superuser=True)
    )
    return User.objects.filter(pk__in=User.objects.filter(holders).values("pk"), is_active=True).order_by("username")


def assignable_users() -> list[User]:
    return list(assignable_user_queryset())


def case_member_page(*, case: Case, sort: str, page_number: int | str) -> tuple[Page, dict[str, list[int]]]:
    """A page of the accounts table and the per-account usage totals shown in it.

    Sorting by requests or tokens uses the stored totals (one dict lookup per
    member), so it never aggregates events per request.
    """
    usage = case_account_totals(case=case)
    alert_counts = (
        Alert.objects.filter(account=OuterRef("account_id"))
        .order_by()
        .values("account")
        .annotate(c=Count("id"))
        .values("c")
    )
    base = (
        CaseMembership.objects.filter(case=case)
        .select_related("account")
        .annotate(alert_count=Coalesce(Subquery(alert_counts), 0))
    )
    if sort in ("-requests", "-tokens"):
        col = 0 if sort == "-requests" else 2
        order = list(base.order_by("account__account_id").values_list("id", "account_id"))
        order.sort(key=lambda row: -usage.get(str(row[1]), [0, 0, 0])[col])
        paginator = Paginator([row[0] for row in order], MEMBER_PAGE_SIZE)
        page = paginator.get_page(page_number)
        by_id = {m.id: m for m in base.filter(id__in=list(page.object_list))}
        page.object_list = [by_id[i] for i in page.object_list if i in by_id]
        return page, usage
    ordering = MEMBER_SORTS.get(sort) or MEMBER_SORTS[DEFAULT_MEMBER_SORT]
    return Paginator(base.order_by(*ordering, "id"), MEMBER_PAGE_SIZE).get_page(page_number), usage


def case_prompt_sample(*, user: AbstractBaseUser | AnonymousUser, case: Case, limit: int = 12) -> list[dict]:
    """Recent prompt excerpts from the case's most strongly linked accounts; analysts only.

    Reading a bounded set of accounts keeps this to a few index range scans
    however large the case is; the sample is stored per data version like the charts.
    Returns [{"ts", "account_id", "category", "cot_requested", "prompt_excerpt"}].
    """
    if not user.has_perm("investigations.view_pii"):
        return []

    def compute() -> list[dict]:
        account_ids = list(
            CaseMembership.objects.filter(case=case)
            .order_by("-link_strength", "id")
            .values_list("account_id", flat=True)[:limit]
        )
        events = (
            UsageEvent.objects.filter(account_id__in=account_ids)
            .exclude(prompt_excerpt="")
            .order_by("-ts")
            .values("ts", "account__account_id", "category", "cot_requested", "prompt_excerpt")[:limit]
        )
        return [
            {
                "ts": e["ts"].isoformat(),
                "account_id": e["account__account_id"],
                "category": e["category"],
                "cot_requested": e["cot_requested"],
                "prompt_excerpt": e["prompt_excerpt"],
            }
            for e in events
        ]

    version = f"{events_version()}|{case_members_version(case)}"
    sample = cached_aggregate(key=f"case-prompts:{case.pk}", version=version, compute=compute)
    return [{**row, "ts": datetime.fromisoformat(row["ts"])} for row in sample]


def case_notes(*, case: Case) -> list[Note]:
    return list(case.notes.select_related("author").order_by("created_at"))


def case_activity(*, case: Case, limit: int = 50) -> list[AuditEntry]:
    """The case's own audit trail, newest first."""
    return list(
        AuditEntry.objects.filter(object_type="investigations.case", object_id=str(case.pk)).order_by(
            "-created_at", "-id"
        )[:limit]
    )


def case_alert_summary(*, case: Case) -> dict[str, Any]:
    """Alerts on the case's accounts (detection links accounts; their alerts need not be attached)."""
    return Alert.objects.filter(account__memberships__case=case).aggregate(
        total=Count("id"), new=Count("id", filter=Q(status=Alert.Status.NEW))
    )


def members_by_account_ids(*, case: Case, account_ids: list[str]) -> QuerySet[CaseMembership]:
    return CaseMembership.objects.filter(case=case, account__account_id__in=account_ids).select_related("account")


def account_get(*, account_id: str) -> Account:
    return get_object_or_404(Account, account_id=account_id)
