"""Keep expensive aggregates with the version of the data they came from."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Count, Max, Q, Sum
from django.utils import timezone

from accounts.models import Account, UsageEvent
from investigations.models import AggregateSnapshot, Case, CaseMembership


def cached_aggregate(*, key: str, version: str, compute: Callable[[], Any]) -> Any:
    """Return the stored aggregate for `key` if it was computed at `version`, else compute and store it.

    The data must be JSON-serialisable. A race between two requests computing the
    same key is harmless: both results are equal, the later write wins.
    """
    snapshot = AggregateSnapshot.objects.filter(key=key).only("version", "data").first()
    if snapshot is not None and snapshot.version == version:
        return snapshot.data
    data = compute()
    try:
        with transaction.atomic():
            AggregateSnapshot.objects.update_or_create(
                key=key, defaults={"version": version, "data": data, "computed_at": timezone.now()}
            )
    except IntegrityError:
        pass  # another request stored the same aggregate first
    return data


def events_version() -> int:
    """The newest event's id: grows with every ingested event (an index-only lookup)."""
    return UsageEvent.objects.aggregate(m=Max("id"))["m"] or 0


def case_members_version(case: Case) -> str:
    """Changes whenever an account joins or leaves the case, or its evidence is rewritten."""
    agg = CaseMembership.objects.filter(case=case).aggregate(
        n=Count("id"),
        s=Sum("account_id"),
        m=Max("id"),
        w=Sum("link_strength"),
        # Graph colours follow bans and flags, so their counts are part of the version.
        b=Count("id", filter=Q(account__enforcement=Account.Enforcement.BANNED)),
        f=Count("id", filter=Q(account__flagged_at__isnull=False)),
    )
    return f"{agg['n']}.{agg['s'] or 0}.{agg['m'] or 0}.{agg['w'] or 0:.4f}.{agg['b']}.{agg['f']}"


def all_members_version() -> str:
    """Changes whenever any case gains or loses an account or changes its risk score."""
    agg = CaseMembership.objects.aggregate(n=Count("id"), s=Sum("account_id"), m=Max("id"))
    cases = Case.objects.aggregate(u=Max("updated_at"), n=Count("id"))
    updated = cases["u"].timestamp() if cases["u"] else 0
    return f"{agg['n']}.{agg['s'] or 0}.{agg['m'] or 0}.{cases['n']}.{updated:.0f}"
