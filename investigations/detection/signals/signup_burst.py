"""Sign-up bursts: several accounts created within minutes of each other with one e-mail pattern.

A sign-up script mints `user1041@…`, `user1042@…` in a loop; people with
similar addresses sign up on different days. Accounts of one pattern are
sorted by sign-up time and cut wherever the gap exceeds `BURST_GAP`; a run of
at least `MIN_BURST` accounts links each account to the next (a chain keeps
the link count linear in the burst size). A run recomputes the bursts of the
patterns its batch's account snapshots touched (a full run, every pattern).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Sequence
from datetime import datetime, timedelta

from django.db import connection
from django.db.models import Q

from investigations.detection.models import AccountIndicator, AccountLink, Indicator
from investigations.detection.signals import PairLink, links_replace, links_touching, stored_links

SIGNAL = AccountLink.Signal.SIGNUP_BURST
BURST_GAP = timedelta(minutes=30)
MIN_BURST = 3
# Below the clustering threshold: numeric addresses (`12345@qq.com` -> `#@qq.com`) make some
# patterns common, so a burst needs a second kind of evidence.
WEIGHT = 0.4
# Above this many changed accounts (an initial load) a full recompute is as cheap, and keeps the
# pattern lists below SQLite's limit of query parameters.
MAX_SCOPED = 10_000


def burst_runs(signups: list[tuple[datetime, int]]) -> list[list[int]]:
    """Split (created_at, account) pairs of one pattern into bursts of at least MIN_BURST accounts."""
    runs: list[list[int]] = []
    current: list[int] = []
    last: datetime | None = None
    for created, account in sorted(signups):
        if last is not None and created - last > BURST_GAP:
            if len(current) >= MIN_BURST:
                runs.append(current)
            current = []
        current.append(account)
        last = created
    if len(current) >= MIN_BURST:
        runs.append(current)
    return runs


def signup_burst_refresh(account_ids: Sequence[int] | None = None) -> int:
    """Replace the sign-up-burst links of the patterns the accounts hold or held (all when None). Returns links kept.

    A burst depends only on its pattern's accounts and their sign-up times, which change
    only with an account's snapshot: an incremental run passes the accounts whose snapshot
    its batch set. Their patterns now, and the patterns of their stored bursts (an account
    whose e-mail changed leaves its old burst), are recomputed whole; no other burst can
    differ from a full recompute.
    """
    if account_ids is not None and len(account_ids) > MAX_SCOPED:
        account_ids = None
    if account_ids is None:
        return links_replace(SIGNAL, burst_links(None))
    patterns = affected_patterns(account_ids)
    if not patterns:
        return 0
    stored = stored_links(SIGNAL, where=Q(detail__pattern__in=patterns))
    return links_replace(SIGNAL, burst_links(patterns), stored=stored)


def affected_patterns(account_ids: Sequence[int]) -> list[str]:
    """The e-mail patterns the accounts hold now, and those of the stored bursts they are in."""
    ids = list(account_ids)
    if not ids:
        return []
    now = AccountIndicator.objects.filter(account_id__in=ids, indicator__kind=Indicator.Kind.EMAIL_PATTERN)
    before = links_touching(SIGNAL, ids).values_list("detail__pattern", flat=True).distinct()
    patterns = set(now.values_list("indicator__value", flat=True)) | set(before)
    patterns.discard(None)
    return sorted(patterns)


def burst_links(patterns: Collection[str] | None) -> list[PairLink]:
    """The burst links of the given e-mail patterns (of every pattern when None)."""
    rows = AccountIndicator.objects.filter(
        indicator__kind=Indicator.Kind.EMAIL_PATTERN,
        indicator__account_count__gte=MIN_BURST,
        indicator__value__contains="#",
        indicator__value__regex=r"^[^@]*[a-z][^@]*@",
        account__created_at__isnull=False,
    )
    if patterns is not None:
        rows = rows.filter(indicator__value__in=list(patterns))
    rows = rows.values_list("indicator__value", "account__created_at", "account_id")
    if connection.vendor == "postgresql":
        # A full run reads a row per account with a pattern: a raw cursor skips the ORM's per-row work,
        # and naive UTC times skip Django's time-zone loader (pure Python, most of the read).
        sql, params = rows.query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT pattern, created AT TIME ZONE 'UTC', account FROM ({sql}) q(pattern, created, account)", params
            )
            found = cursor.fetchall()
    else:
        found = list(rows)
    by_pattern: dict[str, list[tuple[datetime, int]]] = defaultdict(list)
    for pattern, created, account in found:
        by_pattern[pattern].append((created, account))
    links = []
    for pattern, signups in by_pattern.items():
        for run in burst_runs(signups):
            for a, b in zip(run, run[1:], strict=False):
                links.append(PairLink(a, b, SIGNAL, WEIGHT, len(run), {"pattern": pattern, "burst": len(run)}))
    return links
