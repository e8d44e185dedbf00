"""The alert queue: filtered, sorted, paginated reads of alerts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.paginator import Page, Paginator
from django.db.models import Max, QuerySet
from django.utils import timezone

from investigations.models import Alert
from investigations.selectors.snapshots import cached_aggregate

PAGE_SIZE = 50

# URL value -> ORDER BY. Each ends with the id so pages never overlap.
SORTS: dict[str, tuple[str, ...]] = {
    "-raised_at": ("-raised_at", "-id"),
    "raised_at": ("raised_at", "id"),
    "-score": ("-score", "-id"),
    "score": ("score", "id"),
    "detector": ("detector", "-raised_at", "-id"),
    "account": ("account__account_id", "-raised_at", "-id"),
}
DEFAULT_SORT = "-raised_at"


@dataclass(frozen=True)
class AlertFilters:
    """What the queue's filter form accepted; empty fields do not filter."""

    detector: str = ""
    severity: str = ""
    status: str = ""
    account: str = ""
    score_min: float | None = None
    score_max: float | None = None
    date_from: date | None = None
    date_to: date | None = None


def alerts_visible_to(user: AbstractBaseUser | AnonymousUser) -> QuerySet[Alert]:
    if user.is_authenticated and user.has_perm("investigations.view_alert"):
        return Alert.objects.all()
    return Alert.objects.none()


def _local_midnight(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min), timezone.get_current_timezone())


def alert_filter(*, user: AbstractBaseUser | AnonymousUser, filters: AlertFilters) -> QuerySet[Alert]:
    """Alerts matching the filters. Dates are whole days in the analyst's time zone."""
    qs = alerts_visible_to(user)
    if filters.detector:
        qs = qs.filter(detector=filters.detector)
    if filters.severity:
        qs = qs.filter(severity=filters.severity)
    if filters.status:
        qs = qs.filter(status=filters.status)
    if filters.account:
        qs = qs.filter(account__account_id=filters.account)
    if filters.score_min is not None:
        qs = qs.filter(score__gte=filters.score_min)
    if filters.score_max is not None:
        qs = qs.filter(score__lte=filters.score_max)
    if filters.date_from:
        qs = qs.filter(raised_at__gte=_local_midnight(filters.date_from))
    if filters.date_to:
        qs = qs.filter(raised_at__lt=_local_midnight(filters.date_to + timedelta(days=1)))
    return qs


def alert_page(
    *, user: AbstractBaseUser | AnonymousUser, filters: AlertFilters, sort: str, page_number: int | str
) -> Page:
    """One page of the queue, with the account and attached case loaded in the same query."""
    qs = (
        alert_filter(user=user, filters=filters)
        .select_related("account", "case")
        .order_by(*SORTS.get(sort, SORTS[DEFAULT_SORT]))
    )
    return Paginator(qs, PAGE_SIZE).get_page(page_number)


def detector_names() -> list[str]:
    """Distinct detector names for the filter's drop-down.

    DISTINCT over 100,000 alerts costs ~100 ms, so the list is stored until a new alert arrives.
    """
    newest = Alert.objects.aggregate(m=Max("id"))["m"] or 0
    return cached_aggregate(
        key="alert-detectors",
        version=str(newest),
        compute=lambda: list(Alert.objects.order_by("detector").values_list("detector", flat=True).distinct()),
    )


def alerts_new_since(*, user: AbstractBaseUser | AnonymousUser, since: datetime) -> int:
    return alerts_visible_to(user).filter(raised_at__gte=since).count()


def account_alerts(*, user: AbstractBaseUser | AnonymousUser, account_pk: int, limit: int = 50) -> list[Alert]:
    return list(
        alerts_visible_to(user).filter(account_id=account_pk).select_related("case").order_by("-raised_at")[:limit]
    )


def alert_max_id() -> int:
    """The newest alert's id (an index-only lookup): the queue's snapshot for "select all matching"."""
    return Alert.objects.aggregate(m=Max("id"))["m"] or 0
