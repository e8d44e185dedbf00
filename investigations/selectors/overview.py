"""Figures for the overview page: open cases by risk, today's alerts, ingesting batches, usage by case."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Count, F, Q, Sum
from django.db.models.functions import TruncDay
from django.utils import timezone

from accounts.models import UsageEvent
from ingest.models import Batch
from investigations.models import Case
from investigations.selectors.alerts import alerts_new_since
from investigations.selectors.snapshots import all_members_version, cached_aggregate, events_version
from investigations.selectors.usage import _tz, _tz_name

# The volume chart covers this many days back from the newest event.
VOLUME_DAYS = 60
TOP_OPERATORS = 15


def open_cases_by_risk(*, user: AbstractBaseUser | AnonymousUser) -> dict[str, int]:
    agg = (
        Case.objects.visible_to(user)
        .open()
        .aggregate(
            high=Count("id", filter=Q(risk_score__gte=Case.RISK_HIGH)),
            medium=Count("id", filter=Q(risk_score__gte=Case.RISK_MEDIUM, risk_score__lt=Case.RISK_HIGH)),
            low=Count("id", filter=Q(risk_score__lt=Case.RISK_MEDIUM)),
        )
    )
    return {level: agg[level] for level in ("high", "medium", "low")}


def new_alerts_today(*, user: AbstractBaseUser | AnonymousUser) -> int:
    today = timezone.localdate()
    since = timezone.make_aware(datetime.combine(today, time.min), timezone.get_current_timezone())
    return alerts_new_since(user=user, since=since)


def batches_in_progress(*, user: AbstractBaseUser | AnonymousUser, limit: int = 10) -> list[Batch]:
    if not user.has_perm("ingest.view_batch"):
        return []
    finished = (Batch.Status.DONE, Batch.Status.FAILED)
    return list(Batch.objects.exclude(status__in=finished).order_by("-created_at")[:limit])


def usage_by_case(*, user: AbstractBaseUser | AnonymousUser) -> dict[str, Any]:
    """Daily requests per case (plus accounts in no case) and output tokens per case, stored per data version.

    Returns {"daily": [[day ISO, case id or None, requests, output tokens], ...],
             "cases": {case id: [title, risk score]}}.
    """
    if not user.has_perm("accounts.view_usageevent"):
        return {"daily": [], "cases": {}}
    version = f"{events_version()}|{all_members_version()}"

    def compute() -> dict[str, Any]:
        newest = UsageEvent.objects.order_by("-id").values_list("ts", flat=True).first()
        if newest is None:
            return {"daily": [], "cases": {}}
        start = newest - timedelta(days=VOLUME_DAYS)
        day = TruncDay("ts", tzinfo=_tz())
        in_cases = (
            UsageEvent.objects.filter(ts__gte=start)
            .annotate(day=day, case_id=F("account__memberships__case_id"))
            .values("day", "case_id")
            .annotate(n=Count("id"), out=Sum("output_tokens"))
        )
        daily = [[r["day"].isoformat(), r["case_id"], r["n"], r["out"] or 0] for r in in_cases]
        case_ids = {row[1] for row in daily if row[1] is not None}
        cases = {
            str(c.pk): [c.title, c.risk_score]
            for c in Case.objects.filter(pk__in=case_ids).only("id", "title", "risk_score")
        }
        return {"daily": daily, "cases": cases}

    return cached_aggregate(key=f"overview-usage:{_tz_name()}", version=version, compute=compute)
