"""Near-identical prompts sent by different accounts close in time (a harvesting script fanning one template out).

For each UTC day, events with a `prompt_simhash` are bucketed by two-minute
window and by each 16-bit quarter of the hash: two hashes within Hamming
distance 3 agree on at least one quarter (pigeonhole), so comparing
neighbours inside a bucket finds every close pair without an all-pairs scan.
Stock prompts ("hi", "test") sent identically by many unrelated accounts are
ignored: the same exact hash from more than `STOCK_ACCOUNTS` accounts in a day
is a common phrase, not a template.

Links keep a per-day count in `detail["days"]`, so re-running a day replaces
that day's count (idempotent) and an incremental run only reads the days a
batch touched.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import numpy as np
from django.db import connection
from django.db.models import Max, Min

from accounts.models import UsageEvent
from investigations.detection.event_scan import EventArrays, day_number, distinct
from investigations.detection.models import AccountLink
from investigations.detection.signals import PairLink, links_replace, stored_links

SIGNAL = AccountLink.Signal.PROMPT_ECHO
WINDOW_SECONDS = 120
MAX_HAMMING = 3
NEIGHBOURS = 6
STOCK_ACCOUNTS = 25
WEIGHT_PER_ECHO = 0.12
# Below the clustering threshold: two companies running one public prompt template in
# scheduled pipelines echo each other too, so echoes need a second kind of evidence.
MAX_WEIGHT = 0.45


MIN_ECHOES = 3


def echo_weight(echoes: int) -> float:
    """One or two coincidences are chance (two people saying "hi" in the same minute); a handful is a script."""
    if echoes < MIN_ECHOES:
        return 0.0
    return min(MAX_WEIGHT, WEIGHT_PER_ECHO * echoes)


def _epoch_sql() -> str:
    if connection.vendor == "postgresql":
        return "CAST(EXTRACT(EPOCH FROM ts) AS BIGINT)"
    return "CAST(strftime('%%s', ts) AS INTEGER)"


def _day_arrays(day: date) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(account, epoch seconds, simhash) of one day's events, straight from a cursor (no model objects)."""
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    # The planner prices the BRIN index on ts (detection migration 0003) by how well the whole table
    # correlates with time and picks a full scan; a day's events sit in a few block ranges.
    hint = connection.vendor == "postgresql" and connection.in_atomic_block
    with connection.cursor() as cursor:
        if hint:
            cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(
            f"SELECT account_id, {_epoch_sql()}, prompt_simhash FROM {UsageEvent._meta.db_table} "
            "WHERE ts >= %s AND ts < %s AND prompt_simhash IS NOT NULL",
            [start, start + timedelta(days=1)],
        )
        rows = cursor.fetchall()
        if hint:
            cursor.execute("SET LOCAL enable_seqscan = on")
    if not rows:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty.astype(np.uint64)
    data = np.array(rows, dtype=np.int64)
    return data[:, 0].copy(), data[:, 1].copy(), data[:, 2].copy().view(np.uint64)


def _drop_stock_prompts(acc: np.ndarray, sim: np.ndarray) -> np.ndarray:
    """Mask of events whose exact hash is sent by at most STOCK_ACCOUNTS distinct accounts that day."""
    signed = sim.view(np.int64)
    order = np.lexsort((acc, signed))
    s_sorted, a_sorted = signed[order], acc[order]
    first = np.ones(len(order), dtype=bool)
    first[1:] = (s_sorted[1:] != s_sorted[:-1]) | (a_sorted[1:] != a_sorted[:-1])
    # Distinct accounts per hash, counted on the sorted arrays and mapped back (np.unique/np.isin on
    # hundreds of thousands of hashes per day cost most of a full run's echo step).
    starts = np.flatnonzero(np.r_[True, s_sorted[1:] != s_sorted[:-1]])
    accounts = np.add.reduceat(first.astype(np.int64), starts)
    keep = np.empty(len(order), dtype=bool)
    keep[order] = np.repeat(accounts <= STOCK_ACCOUNTS, np.diff(np.r_[starts, len(order)]))
    return keep


def day_echo_pairs(acc: np.ndarray, ts: np.ndarray, sim: np.ndarray) -> dict[tuple[int, int], int]:
    """{(account_a, account_b): number of distinct echoed prompt pairs} for one day's events."""
    keep = _drop_stock_prompts(acc, sim) if len(acc) else np.zeros(0, dtype=bool)
    acc, ts, sim = acc[keep], ts[keep], sim[keep]
    if len(acc) < 2:
        return {}
    index = np.arange(len(acc), dtype=np.int64)
    found: list[np.ndarray] = []
    for band in range(4):
        quarter = ((sim >> np.uint64(16 * band)) & np.uint64(0xFFFF)).astype(np.int64)
        key = (ts // WINDOW_SECONDS) * 65536 + quarter
        # Within a bucket, by hash, then account and time: which neighbours get compared must not
        # depend on the order the rows arrived in (a run over the same events finds the same pairs).
        order = np.lexsort((ts, acc, sim, key))
        k, a, s, ix = key[order], acc[order], sim[order], index[order]
        for step in range(1, NEIGHBOURS + 1):
            if step >= len(k):
                break
            same = (k[:-step] == k[step:]) & (a[:-step] != a[step:])
            close = np.bitwise_count(s[:-step] ^ s[step:]) <= MAX_HAMMING
            hit = np.nonzero(same & close)[0]
            if len(hit):
                lo = np.minimum(ix[hit], ix[hit + step])
                hi = np.maximum(ix[hit], ix[hit + step])
                found.append(np.stack([lo, hi]))
    if not found:
        return {}
    # Pairs as single int64 keys: np.unique on 1-D arrays is far faster than with axis=1.
    both = np.concatenate(found, axis=1)
    event_keys = distinct(both[0] * len(acc) + both[1])
    a1, a2 = acc[event_keys // len(acc)], acc[event_keys % len(acc)]
    lo, hi = np.minimum(a1, a2), np.maximum(a1, a2)
    keys, counts = np.unique((lo << 32) | hi, return_counts=True)
    return {(int(k >> 32), int(k & 0xFFFFFFFF)): int(n) for k, n in zip(keys, counts, strict=True)}


def days_between(first: datetime | None, last: datetime | None) -> list[date]:
    """The UTC days from `first` to `last` inclusive (none when either is None)."""
    if first is None or last is None:
        return []
    start, end = first.astimezone(UTC).date(), last.astimezone(UTC).date()
    return [start + timedelta(days=n) for n in range((end - start).days + 1)]


def days_with_events() -> list[date]:
    """Every UTC day the event table covers (a full run)."""
    span = UsageEvent.objects.aggregate(first=Min("ts"), last=Max("ts"))
    return days_between(span["first"], span["last"])


def days_of(arrays: EventArrays) -> list[date]:
    """Every UTC day the scanned events cover (a full run)."""
    if not len(arrays.micros):
        return []
    first, last = (datetime.fromtimestamp(int(m) / 1_000_000, UTC) for m in (arrays.micros.min(), arrays.micros.max()))
    return days_between(first, last)


def _days_from_scan(arrays: EventArrays, days: list[date]) -> Iterator[tuple[date, tuple]]:
    """Per day, (account, epoch seconds, simhash) of its events with a hash, from the full run's one read.

    A stable sort by day keeps each day's events in table order, as the per-day query returns them.
    """
    hashed = np.nonzero(arrays.has_simhash)[0]
    numbers = arrays.micros[hashed] // (86_400 * 1_000_000)
    order = hashed[np.argsort(numbers, kind="stable")]
    numbers = np.sort(numbers, kind="stable")
    for day in days:
        n = day_number(day)
        lo, hi = np.searchsorted(numbers, n, "left"), np.searchsorted(numbers, n, "right")
        index = order[lo:hi]
        yield day, (arrays.account[index], arrays.seconds(index), arrays.simhash[index])


def prompt_echo_refresh(*, days: list[date], arrays: EventArrays | None = None) -> int:
    """Recompute the echo counts of the given days and merge them into the stored links. Returns links written.

    `arrays`: every event, read once by a full run (`event_scan`); otherwise each day is queried.
    """
    fresh: dict[tuple[int, int], dict[str, int]] = defaultdict(dict)
    per_day = _days_from_scan(arrays, days) if arrays is not None else ((day, _day_arrays(day)) for day in days)
    for day, columns in per_day:
        for pair, n in day_echo_pairs(*columns).items():
            fresh[pair][day.isoformat()] = n
    recomputed = {day.isoformat() for day in days}
    stored = stored_links(SIGNAL)
    merged: dict[tuple[int, int], dict[str, int]] = {}
    # Keep other days' counts of every stored link; drop the recomputed days' old counts.
    for pair, (_pk, _weight, _count, detail) in stored.items():
        merged[pair] = {d: n for d, n in detail.get("days", {}).items() if d not in recomputed}
    for pair, per_day in fresh.items():
        merged.setdefault(pair, {}).update(per_day)
    links = []
    for (a, b), per_day in merged.items():
        if per_day:
            total = sum(per_day.values())
            links.append(PairLink(a, b, SIGNAL, echo_weight(total), total, {"days": per_day}))
    # Links left without any day are deleted; unchanged ones are not rewritten.
    return links_replace(SIGNAL, links, stored=stored)
