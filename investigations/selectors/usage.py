"""Request aggregates behind the timelines and heatmaps: hourly buckets, never raw rows in bulk."""

from __future__ import annotations

import zoneinfo
from datetime import datetime, tzinfo
from typing import Any

from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import TruncHour
from django.utils import timezone

from accounts.models import Account, UsageEvent
from investigations.models import Case
from investigations.selectors.snapshots import cached_aggregate, case_members_version, events_version

# One hourly row per (hour, category): [local hour ISO, category, requests, CoT requests, output tokens].
HourlyRow = list[Any]


def _tz() -> tzinfo:
    return timezone.get_current_timezone()


def _tz_name() -> str:
    tz = _tz()
    return getattr(tz, "key", None) or str(tz)


def hourly_usage(events: QuerySet[UsageEvent]) -> list[HourlyRow]:
    """Requests, CoT requests and output tokens per local hour and category (one GROUP BY)."""
    rows = (
        events.annotate(hour=TruncHour("ts", tzinfo=_tz()))
        .values("hour", "category")
        .annotate(n=Count("id"), cot=Count("id", filter=Q(cot_requested=True)), out=Sum("output_tokens"))
        .order_by("hour")
    )
    return [[r["hour"].isoformat(), r["category"] or "unknown", r["n"], r["cot"], r["out"] or 0] for r in rows]


def account_totals(events: QuerySet[UsageEvent]) -> dict[str, list[int]]:
    """Per account pk (as a string, JSON keys are strings): [requests, CoT requests, output tokens]."""
    rows = events.values("account_id").annotate(
        n=Count("id"), cot=Count("id", filter=Q(cot_requested=True)), out=Sum("output_tokens")
    )
    return {str(r["account_id"]): [r["n"], r["cot"], r["out"] or 0] for r in rows}


def case_events(case: Case) -> QuerySet[UsageEvent]:
    return UsageEvent.objects.filter(account_id__in=case.memberships.values("account_id"))


def case_usage(*, case: Case) -> dict[str, Any]:
    """The case's hourly usage (in the viewer's zone), stored until new events or members arrive."""
    version = f"{events_version()}|{case_members_version(case)}"
    hourly = cached_aggregate(
        key=f"case-usage:{case.pk}:{_tz_name()}", version=version, compute=lambda: hourly_usage(case_events(case))
    )
    return {"hourly": hourly}


def case_account_totals(*, case: Case) -> dict[str, list[int]]:
    """Per member account pk: [requests, CoT requests, output tokens], stored like `case_usage`.

    Kept apart from the hourly series so the accounts table reads only what it shows.
    """
    version = f"{events_version()}|{case_members_version(case)}"
    return cached_aggregate(
        key=f"case-account-totals:{case.pk}", version=version, compute=lambda: account_totals(case_events(case))
    )


def account_usage(*, account: Account) -> list[HourlyRow]:
    """One account's hourly usage: read live, the (account, ts) index makes it cheap."""
    return hourly_usage(UsageEvent.objects.filter(account=account))


def parse_hour(value: str) -> datetime:
    return datetime.fromisoformat(value)


def tz_label() -> str:
    """The zone charts are drawn in, for axis titles."""
    name = _tz_name()
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return "UTC"
    return name
