"""Keep expensive aggregates with the version of the data they came from."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import IntegrityError, connection, transaction
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


def _evidence_checksum(case: Case) -> str:
    """A digest of every member's link evidence and the account fields that link accounts.

    Detection rewrites evidence in place (same members, same count), and an account's
    payment card or sign-up IP can change: counts and sums alone miss both, so the
    graph and the "why" panel would keep showing the old links. One hash per row,
    combined in id order, in the database (no rows are shipped to Python).
    """
    members, accounts = CaseMembership._meta.db_table, Account._meta.db_table
    if connection.vendor == "postgresql":
        row_text = "m.evidence::text || '|' || a.payment_fingerprint || '|' || coalesce(host(a.signup_ip), '')"
        sql = f"SELECT md5(string_agg(md5({row_text}), '' ORDER BY m.id))"
    else:
        row_text = "CAST(m.evidence AS TEXT) || '|' || a.payment_fingerprint || '|' || coalesce(a.signup_ip, '')"
        # Django registers MD5 on SQLite connections; group_concat follows the ordered subquery.
        sql = f"SELECT MD5(group_concat(h, '')) FROM (SELECT MD5({row_text}) AS h"
    sql += f" FROM {members} m JOIN {accounts} a ON a.id = m.account_id WHERE m.case_id = %s"
    sql += "" if connection.vendor == "postgresql" else " ORDER BY m.id)"
    with connection.cursor() as cursor:
        cursor.execute(sql, [case.pk])
        row = cursor.fetchone()
    return (row[0] or "")[:12] if row else ""


def case_members_version(case: Case) -> str:
    """Changes whenever an account joins or leaves the case, its evidence is rewritten or its linking fields change."""
    agg = CaseMembership.objects.filter(case=case).aggregate(
        n=Count("id"),
        s=Sum("account_id"),
        m=Max("id"),
        w=Sum("link_strength"),
        # Graph colours follow bans and flags, so their counts are part of the version.
        b=Count("id", filter=Q(account__enforcement=Account.Enforcement.BANNED)),
        f=Count("id", filter=Q(account__flagged_at__isnull=False)),
    )
    counts = f"{agg['n']}.{agg['s'] or 0}.{agg['m'] or 0}.{agg['w'] or 0:.4f}.{agg['b']}.{agg['f']}"
    return f"{counts}.{_evidence_checksum(case)}"


def all_members_version() -> str:
    """Changes whenever any case gains or loses an account or changes its risk score."""
    agg = CaseMembership.objects.aggregate(n=Count("id"), s=Sum("account_id"), m=Max("id"))
    cases = Case.objects.aggregate(u=Max("updated_at"), n=Count("id"))
    updated = cases["u"].timestamp() if cases["u"] else 0
    return f"{agg['n']}.{agg['s'] or 0}.{agg['m'] or 0}.{cases['n']}.{updated:.0f}"
