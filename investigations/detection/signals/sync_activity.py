"""Synchronized activity (SynchroTrap-style): flagged accounts active in the same 10-minute windows, again and again.

SynchroTrap compares accounts by the timestamped actions they share and keeps
pairs whose Jaccard similarity stays high. Here an account's "actions" are the
10-minute windows of the last `LOOKBACK_DAYS` days in which it sent requests.
Two people in one time zone overlap a little; two heads of one harvesting
script, started and stopped together, overlap almost entirely. Only flagged
accounts are compared (their partners in a script are usually flagged too, and
unflagged heads are reached through shared values), which bounds the cost.
Windows crowded by more than `CROWD` accounts are skipped: they say "busy
hour", not "same script". The link is weak on its own (`WEIGHT` < the
clustering threshold) and must be corroborated by another signal.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from datetime import timedelta
from itertools import combinations

import numpy as np
from django.db import connection
from django.db.models import Max

from accounts.models import Account, UsageEvent
from investigations.detection.event_scan import EventArrays, distinct
from investigations.detection.models import AccountFeatures, AccountLink
from investigations.detection.signals import PairLink, links_replace

SIGNAL = AccountLink.Signal.SYNC_ACTIVITY
WINDOW_MINUTES = 10
LOOKBACK_DAYS = 14
MIN_SHARED = 12
MIN_JACCARD = 0.6
CROWD = 60
WEIGHT = 0.3


def sync_pairs(windows: dict[int, set[int]]) -> list[PairLink]:
    """Pairs of accounts whose active windows overlap enough, from {account: set of window numbers}."""
    by_window: dict[int, list[int]] = defaultdict(list)
    for account, active in windows.items():
        for window in active:
            by_window[window].append(account)
    shared: Counter[tuple[int, int]] = Counter()
    for accounts in by_window.values():
        if 2 <= len(accounts) <= CROWD:
            shared.update(combinations(sorted(accounts), 2))
    links = []
    for (a, b), together in shared.items():
        if together < MIN_SHARED:
            continue
        jaccard = together / (len(windows[a]) + len(windows[b]) - together)
        if jaccard >= MIN_JACCARD:
            links.append(PairLink(a, b, SIGNAL, WEIGHT, together, {"windows": together, "jaccard": round(jaccard, 2)}))
    return links


def _windows_from_scan(arrays: EventArrays, flagged: list[int]) -> dict[int, set[int]]:
    """Active windows of the flagged accounts in the look-back, from the full run's one read of every event."""
    windows: dict[int, set[int]] = defaultdict(set)
    if not len(arrays.micros):
        return windows
    since = int(arrays.micros.max()) - LOOKBACK_DAYS * 86_400 * 1_000_000
    keep = (arrays.micros >= since) & np.isin(arrays.account, np.asarray(flagged, dtype=np.int64))
    # floor(epoch / window), as FLOOR(EXTRACT(EPOCH FROM ts) / window) computes it
    number = arrays.micros[keep] // (60 * WINDOW_MINUTES * 1_000_000)
    if not len(number):
        return windows
    # Distinct (account, window) pairs as one int64 key (14 days of windows fit in 32 bits easily).
    base = int(number.min())
    keys = distinct((arrays.account[keep] << 32) | (number - base))
    for account, window in zip((keys >> 32).tolist(), ((keys & 0xFFFFFFFF) + base).tolist(), strict=True):
        windows[account].add(window)
    return windows


def latest_event_time():
    """The newest event's time.

    On PostgreSQL the newest `last_seen` of the features is a lower bound, so
    the BRIN index on `ts` (detection migration 0003) reads only the pages that
    can hold newer events instead of scanning the whole table.
    """
    if connection.vendor == "postgresql":
        bound = AccountFeatures.objects.aggregate(last=Max("last_seen"))["last"]
        if bound is not None:
            latest = UsageEvent.objects.filter(ts__gte=bound).aggregate(last=Max("ts"))["last"]
            if latest is not None:
                return latest
    return UsageEvent.objects.aggregate(last=Max("ts"))["last"]


def sync_activity_refresh(*, account_ids: Sequence[int] | None = None, arrays: EventArrays | None = None) -> int:
    """Replace the synchronized-activity links among flagged accounts. Returns links written.

    With `account_ids` (an incremental run) nothing is done unless one of them is
    flagged: only flagged accounts are compared. Otherwise the whole look-back
    window is recomputed, because a new account can synchronize with any old one.
    `arrays`: every event, read once by a full run (`event_scan`), instead of querying them.
    """
    flagged_accounts = Account.objects.filter(flagged_at__isnull=False)
    if account_ids is not None and not flagged_accounts.filter(id__in=list(account_ids)[:20000]).exists():
        return 0
    flagged = list(flagged_accounts.values_list("id", flat=True))
    if arrays is not None:
        return links_replace(SIGNAL, sync_pairs(_windows_from_scan(arrays, flagged)) if flagged else [])
    latest = latest_event_time()
    links: list[PairLink] = []
    if flagged and latest is not None:
        windows: dict[int, set[int]] = defaultdict(set)
        since = latest - timedelta(days=LOOKBACK_DAYS)
        window = 60 * WINDOW_MINUTES
        if connection.vendor == "postgresql":
            bucket = f"CAST(FLOOR(EXTRACT(EPOCH FROM ts) / {window}) AS BIGINT)"
        else:
            bucket = f"CAST(strftime('%%s', ts) AS INTEGER) / {window}"
        with connection.cursor() as cursor:
            for start in range(0, len(flagged), 2000):
                chunk = flagged[start : start + 2000]
                cursor.execute(
                    f"SELECT DISTINCT account_id, {bucket} FROM {UsageEvent._meta.db_table} "
                    f"WHERE ts >= %s AND account_id IN ({','.join(['%s'] * len(chunk))})",
                    [since, *chunk],
                )
                for account, number in cursor.fetchall():
                    windows[account].add(number)
        links = sync_pairs(windows)
    return links_replace(SIGNAL, links)
