"""One sequential read of every event's account, time and prompt hash, shared by a full run's time-based steps.

The activity rhythm (hour of day, weekday), prompt echoes (per day, all
accounts) and synchronized activity (10-minute windows of flagged accounts)
each used to read the event table on their own, prompt echoes once per day
(30 scans of the whole table for 30 days). A full run now reads these three
columns once (as binary strings numpy reads without per-row Python) and each
step slices the arrays. PostgreSQL only; rows keep
the table's physical order, as the per-day queries returned them.
"""

from __future__ import annotations

import ctypes
from collections.abc import Iterator
from concurrent.futures import Future
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, date, datetime

import numpy as np
import psycopg
from django.db import connection, transaction

from accounts.models import UsageEvent
from config.db import alongside
from investigations.detection.event_stage import EVENTS

# PostgreSQL's binary timestamps count microseconds from 2000-01-01 UTC.
_PG_EPOCH_US = 946_684_800 * 1_000_000
_US = 1_000_000
# Category codes: 1 + position in `UsageEvent.Category` (the order of `AccountFeatures.CATEGORY_FIELDS`).
CATEGORY_VALUES = tuple(UsageEvent.Category.values)
_CATEGORY_VALUES = "{" + ",".join(CATEGORY_VALUES) + "}"
# Pages of the event table per query (about a million events): bounds the size of one result.
_PAGES = 16_384


# Each aggregated column costs about 1.5 s per 16M events on the server (a send call and an append
# per row), so the small fields travel packed: both token counts (int4, the output count in the low
# 32 bits whatever its sign) in one int8, the category code, CoT and "has a SimHash" in one int2.
# Eight columns took 14-15 s here, five 11-12 s.
_CATEGORY_MASK, _COT, _HAS_SIMHASH = 0xF, 1 << 4, 1 << 5
_SCAN_SQL = (
    "SELECT string_agg(int8send(account_id), ''::bytea), string_agg(timestamptz_send(ts), ''::bytea), "
    "string_agg(int8send(COALESCE(prompt_simhash, 0)), ''::bytea), "
    "string_agg(int8send((COALESCE(input_tokens, 0)::int8 << 32) "
    "| (COALESCE(output_tokens, 0)::int8 & 4294967295)), ''::bytea), "
    f"string_agg(int2send((COALESCE(array_position('{_CATEGORY_VALUES}'::text[], category::text), 0) "
    "| (COALESCE(cot_requested, false)::int << 4) | ((prompt_simhash IS NOT NULL)::int << 5))::int2), ''::bytea) "
    f"FROM {EVENTS}"
)


@dataclass
class EventArrays:
    """Every event as parallel arrays, in table order."""

    account: np.ndarray  # int64 account pk
    micros: np.ndarray  # int64 microseconds since 1970-01-01 UTC
    simhash: np.ndarray  # uint64, meaningful where has_simhash
    has_simhash: np.ndarray  # bool
    input_tokens: np.ndarray  # int64, 0 where unknown
    output_tokens: np.ndarray  # int64, 0 where unknown
    category: np.ndarray  # int16: 1 + index in CATEGORY_VALUES, 0 for none
    cot: np.ndarray  # bool

    def seconds(self, index: np.ndarray | slice = slice(None)) -> np.ndarray:
        """Epoch seconds as `CAST(EXTRACT(EPOCH FROM ts) AS BIGINT)` gives them: rounded half away from zero."""
        micros = self.micros[index]
        return np.where(micros >= 0, (micros + _US // 2) // _US, -((-micros + _US // 2) // _US))

    def days(self) -> np.ndarray:
        """UTC day number (days since 1970-01-01) of every event."""
        return self.micros // (86_400 * _US)


def distinct(keys: np.ndarray) -> np.ndarray:
    """The sorted distinct values of a 1-D array.

    By sorting: numpy 2.4's `np.unique` without `return_*` takes a hashing path that is about
    100 times slower than a sort on millions of int64 keys (8 s against 0.08 s for 8M here).
    """
    keys = np.sort(keys)
    return keys[np.r_[True, keys[1:] != keys[:-1]]] if len(keys) else keys


def account_codes(account: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(the distinct accounts, sorted; each event's position among them): `np.unique(return_inverse=True)`.

    Account pks come from a sequence, so a lookup table over their range is one linear pass,
    where `np.unique` sorts every event (2.7 s for 16M here). Sparse ranges fall back to it.
    """
    if not len(account):
        return account, np.zeros(0, dtype=np.intp)
    low, high = int(account.min()), int(account.max())
    if high - low > 4 * len(account) + 1_000_000:
        return np.unique(account, return_inverse=True)
    present = np.zeros(high - low + 1, dtype=bool)
    present[account - low] = True
    lookup = np.cumsum(present, dtype=np.intp) - 1
    return np.flatnonzero(present) + low, lookup[account - low]


def day_number(day: date) -> int:
    return (datetime(day.year, day.month, day.day, tzinfo=UTC) - datetime(1970, 1, 1, tzinfo=UTC)).days


def _column(data: bytes | memoryview, dtype: str) -> np.ndarray:
    return np.frombuffer(data, dtype=dtype).astype(dtype.lstrip(">"))


def scan_events() -> EventArrays:
    """(account, time, prompt hash, tokens, category, CoT) of every event, read in one pass.

    Each query returns one row per range of pages: every column as one binary
    string of big-endian values (`int8send`, `timestamptz_send`), which numpy
    reads without a Python object per event. (A binary COPY hands them over a
    row at a time through Python, 30 s for 8M events; its raw stream parsed as a numpy
    record array took 24.9 s for 16M, where these queries took 19.5 s.) Ranges of `ctid` keep the
    table's order and are read as TID range scans, one sequential pass in all.
    """
    parts: list[tuple[np.ndarray, ...]] = []
    connection.ensure_connection()
    # Binary results: the strings arrive as raw bytes, where text results hex-encode them on the
    # server and decode them here (a third of each query's time). Django's cursors bind on the
    # client, which rules binary results out, hence psycopg's own cursor on the same connection.
    with psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(f"SELECT pg_relation_size('{EVENTS}') / current_setting('block_size')::int")
        pages = cursor.fetchone()[0]
        for start in range(0, pages + 1, _PAGES):
            last = start + _PAGES > pages
            cursor.execute(
                _SCAN_SQL
                + f" WHERE ctid >= '({start},0)'::tid"
                + ("" if last else f" AND ctid < '({start + _PAGES},0)'::tid"),
                binary=True,
            )
            account, ts, simhash, tokens, flags = cursor.fetchone()
            if account is None:
                continue
            tokens = _column(tokens, ">i8")
            flags = _column(flags, ">i2")
            parts.append(
                (
                    _column(account, ">i8"),
                    _column(ts, ">i8") + _PG_EPOCH_US,
                    _column(simhash, ">i8").view(np.uint64),
                    (flags & _HAS_SIMHASH).astype(bool),
                    tokens >> 32,
                    (tokens & 0xFFFFFFFF).astype(np.uint32).view(np.int32).astype(np.int64),
                    (flags & _CATEGORY_MASK).astype(np.int16),
                    (flags & _COT).astype(bool),
                )
            )
    if not parts:
        empty = np.zeros(0, dtype=np.int64)
        none = np.zeros(0, dtype=bool)
        return EventArrays(empty, empty, empty.view(np.uint64), none, empty, empty, empty.astype(np.int16), none)
    return EventArrays(*(np.concatenate(column) for column in zip(*parts, strict=True)))


@contextmanager
def scan_alongside(*, background: bool) -> Iterator[Future[EventArrays]]:
    """`scan_events` on a second connection, at this transaction's snapshot, while the caller goes on.

    The scan is one server process sending rows to this one; the full run's next statement
    (the grouped stage) is another read of the whole table. Side by side, one core each, they
    took 15-16 s on the 16M-event bench database, where one after the other took 24-29 s.
    The second connection imports this transaction's snapshot, so both read exactly the same events.

    `background` only when this transaction is the outermost one and REPEATABLE READ:
    rows written before in the same transaction (a test's) are invisible to another
    connection, so then the scan runs here, before the caller goes on.
    """
    with alongside(background=background, name="event-scan") as submit:
        if not background:
            yield submit(scan_events)
            return
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_export_snapshot()")
            snapshot = cursor.fetchone()[0]
        # The exit waits for the scan even when the caller fails: the snapshot is only
        # importable while this transaction is open.
        yield submit(_scan_at, snapshot=snapshot)


def _scan_at(snapshot: str) -> EventArrays:
    """In the scan's own thread: its own connection, reading at the given exported snapshot."""
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            cursor.execute("SET TRANSACTION SNAPSHOT %s", [snapshot])
            return scan_events()
    finally:
        _release_freed_memory()


def _release_freed_memory() -> None:
    """Hand the scan thread's freed buffers back to the system (glibc only; elsewhere a no-op).

    glibc gives each thread its own heap and keeps what is freed there for that thread, which is
    about to end: without this the full run's peak memory was 0.37 GB higher (1.86 GB against 1.49).
    """
    with suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)
