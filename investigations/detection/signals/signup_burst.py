"""Sign-up bursts: several accounts created within minutes of each other with one e-mail pattern.

A sign-up script mints `user1041@…`, `user1042@…` in a loop; people with
similar addresses sign up on different days. Accounts of one pattern are
sorted by sign-up time and cut wherever the gap exceeds `BURST_GAP`; a run of
at least `MIN_BURST` accounts links each account to the next (a chain keeps
the link count linear in the burst size). A run recomputes the bursts of the
patterns its batch's account snapshots touched (a full run, every pattern).

Patterns are derived from the accounts' e-mails with the indicator index's own
expression, not read from the index: so the bursts need nothing the same run
writes, and a run computes them on a second connection alongside the index.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Collection, Sequence
from datetime import datetime, timedelta

from django.db import connection
from django.db.models import Q

from accounts.models import Account
from config.db import in_filters
from investigations.detection.indicators import email_pattern_sql
from investigations.detection.models import AccountLink
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
    before = links_touching(SIGNAL, ids).values_list("detail__pattern", flat=True).distinct()
    patterns = {pattern for pattern, _created, _account in _signups(accounts=ids)} | set(before)
    patterns.discard(None)
    return sorted(patterns)


# A pattern with letters before the @: `#@qq.com` (all-digit addresses) is everybody's.
_WORDY = re.compile(r"^[^@]*[a-z][^@]*@")
# The patterns of the selected sign-ups (the CTE `s`) that enough accounts share to make a burst.
_SHARED_PATTERNS = f"SELECT pattern FROM s GROUP BY pattern HAVING COUNT(*) >= {MIN_BURST}"


def burst_links(patterns: Collection[str] | None) -> list[PairLink]:
    """The burst links of the given e-mail patterns (of every pattern when None)."""
    by_pattern: dict[str, list[tuple[datetime, int]]] = defaultdict(list)
    for pattern, created, account in _signups(patterns=patterns):
        if "#" in pattern and _WORDY.match(pattern):
            by_pattern[pattern].append((created, account))
    links = []
    for pattern, signups in by_pattern.items():
        for run in burst_runs(signups):
            for a, b in zip(run, run[1:], strict=False):
                links.append(PairLink(a, b, SIGNAL, WEIGHT, len(run), {"pattern": pattern, "burst": len(run)}))
    return links


def _signups(
    *, patterns: Collection[str] | None = None, accounts: Sequence[int] | None = None
) -> list[tuple[str, datetime, int]]:
    """(pattern, sign-up time, account) of the accounts with a sign-up time, of these patterns or these
    accounts (of all when neither), through a plain cursor (a full run reads a row per account).

    Without `accounts`, only the patterns MIN_BURST accounts share: fewer can't make a burst.
    """
    expression, condition = email_pattern_sql()
    # Naive UTC times on PostgreSQL: Django's loader of aware ones is pure Python, most of the read.
    created = "e.created_at AT TIME ZONE 'UTC'" if connection.vendor == "postgresql" else "e.created_at"
    signups = (
        f"SELECT {expression} AS pattern, {created} AS created, e.id AS account FROM {Account._meta.db_table} e "
        f"WHERE {condition} AND e.created_at IS NOT NULL"
    )
    if accounts is not None:
        filters = [(f" AND e.id {f.sql}", f.params) for f in in_filters(accounts)]
    elif patterns is not None:
        filters = [(f" AND {expression} {f.sql}", f.params) for f in in_filters(sorted(patterns))]
    else:
        filters = [("", [])]
    # Whole patterns are selected (all, or the given ones), so counting within them counts all their accounts.
    common = "" if accounts is not None else f" WHERE pattern IN ({_SHARED_PATTERNS})"
    found: list[tuple[str, datetime, int]] = []
    with connection.cursor() as cursor:
        for where, params in filters:
            cursor.execute(f"WITH s AS ({signups}{where}) SELECT pattern, created, account FROM s{common}", params)
            found += cursor.fetchall()
    return found
