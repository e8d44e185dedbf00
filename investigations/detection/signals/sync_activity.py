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
from datetime import UTC, datetime, timedelta
from itertools import combinations

import numpy as np
from django.db import connection
from django.db.models import Max

from accounts.models import Account, UsageEvent
from config.db import chunked, in_filters
from investigations.detection.event_scan import EventArrays, distinct
from investigations.detection.models import AccountFeatures, AccountLink, ActivityWindows
from investigations.detection.signals import PairLink, links_replace

SIGNAL = AccountLink.Signal.SYNC_ACTIVITY
WINDOW_MINUTES = 10
LOOKBACK_DAYS = 14
MIN_SHARED = 12
MIN_JACCARD = 0.6
CROWD = 60
WEIGHT = 0.3
WINDOW_MICROS = 60 * WINDOW_MINUTES * 1_000_000
_NONE = np.zeros(0, dtype=np.int64)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


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


def _windows_from_scan(arrays: EventArrays, flagged: list[int], since_window: int) -> dict[int, np.ndarray]:
    """Active windows of the flagged accounts from `since_window` on, from the full run's read of every event."""
    keep = (arrays.micros >= since_window * WINDOW_MICROS) & np.isin(arrays.account, np.asarray(flagged, np.int64))
    # floor(epoch / window), as FLOOR(EXTRACT(EPOCH FROM ts) / window) computes it
    number = arrays.micros[keep] // WINDOW_MICROS
    windows = dict.fromkeys(flagged, _NONE)
    if not len(number):
        return windows
    # Distinct (account, window) pairs as one int64 key (14 days of windows fit in 32 bits easily).
    keys = distinct((arrays.account[keep] << 32) | (number - since_window))
    accounts, starts = np.unique(keys >> 32, return_index=True)
    for account, part in zip(accounts.tolist(), np.split((keys & 0xFFFFFFFF) + since_window, starts[1:]), strict=True):
        windows[account] = part
    return windows


def _windows_from_events(accounts: Sequence[int], since_window: int) -> dict[int, np.ndarray]:
    """Active windows of these accounts from `since_window` on, read from their events."""
    windows: dict[int, list[int]] = {account: [] for account in accounts}
    for chunk in chunked(list(accounts), 2000):
        for account, number in _window_rows(f"account_id IN ({','.join(['%s'] * len(chunk))})", chunk, since_window):
            windows[account].append(number)
    return {account: np.sort(np.asarray(numbers, dtype=np.int64)) for account, numbers in windows.items()}


def _windows_of_batch(batch_id: int, since_window: int) -> dict[int, np.ndarray]:
    """Active windows of the accounts with events in batch `batch_id`, in that batch's events alone."""
    windows: dict[int, list[int]] = defaultdict(list)
    for account, number in _window_rows("batch_id = %s", [batch_id], since_window):
        windows[account].append(number)
    return {account: np.asarray(numbers, dtype=np.int64) for account, numbers in windows.items()}


def _window_rows(condition: str, params: list, since_window: int) -> list[tuple[int, int]]:
    """Distinct (account, window number) of the events matching `condition`, from `since_window` on."""
    seconds = WINDOW_MICROS // 1_000_000
    if connection.vendor == "postgresql":
        bucket = f"CAST(FLOOR(EXTRACT(EPOCH FROM ts) / {seconds}) AS BIGINT)"
    else:
        bucket = f"CAST(strftime('%%s', ts) AS INTEGER) / {seconds}"
    since = _EPOCH + timedelta(microseconds=since_window * WINDOW_MICROS)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT DISTINCT account_id, {bucket} FROM {UsageEvent._meta.db_table} WHERE ts >= %s AND {condition}",
            [since, *params],
        )
        return cursor.fetchall()


def _windows_stored(accounts: Sequence[int], since_window: int) -> dict[int, np.ndarray]:
    """The stored windows of these accounts (those that have a row), from `since_window` on."""
    wanted = set(accounts)
    stored: dict[int, np.ndarray] = {}
    # Every row, through a plain cursor: the rows are the flagged accounts' (what is wanted, less
    # a few that were flagged since), and 24,000 rows through the ORM cost 0.8 s.
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT account_id, windows FROM {ActivityWindows._meta.db_table}")
        for account, data in cursor.fetchall():
            if account in wanted:
                numbers = np.frombuffer(data, dtype="<i8")
                stored[account] = numbers[numbers >= since_window].astype(np.int64)
    return stored


def _windows_store(windows: dict[int, np.ndarray], *, everything: bool) -> None:
    """Replace the stored windows of these accounts (with `everything`, of all accounts)."""
    table = ActivityWindows._meta.db_table
    rows = [(account, numbers.astype("<i8").tobytes()) for account, numbers in windows.items()]
    with connection.cursor() as cursor:
        if everything:
            cursor.execute(f"DELETE FROM {table}")
        else:
            # Plain DELETEs: the ORM's first reads every row it deletes (for signals and cascades).
            for where in in_filters(windows):
                cursor.execute(f"DELETE FROM {table} WHERE account_id {where.sql}", where.params)
        if connection.vendor == "postgresql":
            with cursor.copy(f"COPY {table} (account_id, windows) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            ActivityWindows.objects.bulk_create(
                [ActivityWindows(account_id=a, windows=data) for a, data in rows], batch_size=2000
            )


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


def sync_activity_refresh(
    *, batch_id: int | None = None, account_ids: Sequence[int] = (), arrays: EventArrays | None = None
) -> int:
    """Replace the synchronized-activity links among flagged accounts. Returns links written.

    With `batch_id` (an incremental run; `account_ids`: the accounts it touched) nothing is done
    unless one of them is flagged: only flagged accounts are compared. Each flagged account's
    windows are stored (`ActivityWindows`); the batch's events add theirs (a union, so a retried
    run adds nothing twice), and accounts flagged since get theirs from all their events. All
    pairs are compared again: a batch's account can synchronize with any other, and the
    look-back moves. Otherwise every flagged account's windows are derived again
    (`arrays`: from a full run's one read of every event).
    """
    flagged = list(Account.objects.filter(flagged_at__isnull=False).values_list("id", flat=True))
    if batch_id is not None and set(flagged).isdisjoint(account_ids):
        return 0
    if not flagged:
        return links_replace(SIGNAL, [])
    if arrays is not None:
        if not len(arrays.micros):
            return links_replace(SIGNAL, [])
        windows = _windows_from_scan(arrays, flagged, _first_window(int(arrays.micros.max())))
        _windows_store(windows, everything=True)
    else:
        latest = latest_event_time()
        if latest is None:
            return links_replace(SIGNAL, [])
        since_window = _first_window((latest - _EPOCH) // timedelta(microseconds=1))
        windows = {} if batch_id is None else _windows_stored(flagged, since_window)
        changed = _windows_from_events([a for a in flagged if a not in windows], since_window)
        if batch_id is not None:
            for account, numbers in _windows_of_batch(batch_id, since_window).items():
                if account in windows:
                    changed[account] = np.union1d(windows[account], numbers)
        windows.update(changed)
        _windows_store(changed, everything=batch_id is None)
    return links_replace(SIGNAL, sync_pairs({account: set(numbers.tolist()) for account, numbers in windows.items()}))


def _first_window(latest_micros: int) -> int:
    """The first whole window of the look-back ending at `latest_micros` (every path cuts there)."""
    return -(-(latest_micros - LOOKBACK_DAYS * 86_400 * 1_000_000) // WINDOW_MICROS)
