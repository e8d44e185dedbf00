"""The PostgreSQL fast path: events by one binary COPY straight into their table, the rest staged.

`prepare` validates the chunk, encodes each event as a binary COPY row at once
(`event_rows`, grouped by account) and creates the chunk's stub accounts
(committed on their own, see there) with the keys of all its accounts. `load`
then copies the rows into `accounts_usageevent`, an account's rows together.
A duplicate anywhere (an id stored by an earlier batch, another chunk, or twice
in this one) fails that COPY; the rows then go through a staging table and
`INSERT … ON CONFLICT DO NOTHING`. Either way the difference between the events
validated and the events inserted is the duplicate count. Alerts are few: they
are staged and inserted with a join.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from psycopg import Cursor
from psycopg.errors import UniqueViolation

from ingest.loaders import ChunkCounts
from ingest.loaders.event_rows import COPY_COLUMNS, EventRows
from ingest.snapshots import apply_snapshots
from ingest.validation import AccountSnapshot, Rejected, parse_line

ALERT_TYPES = ["text", "text", "text", "float8", "timestamptz", "text", "text"]

_STAGE_ALERTS = """
DROP TABLE IF EXISTS ingest_stage_alerts;
CREATE TEMP TABLE ingest_stage_alerts (
    alert_id text, account_id text, detector text, score float8, raised_at timestamptz, severity text, summary text
);
"""

# The keys of the accounts a chunk names. `prepare` creates the missing ones and commits them, and
# accounts are never deleted by the app; one deleted by hand before `load` loses its rows, counted as
# duplicates, as the join of the staged rows did before.
_ACCOUNT_KEYS = """
SELECT a.account_id, a.id FROM unnest(%s::text[]) AS n (account_id) JOIN accounts_account a USING (account_id)
"""

# New accounts are stubs until a snapshot fills them. Sorted, so concurrent chunks insert shared new
# ids in the same order and cannot deadlock. An id another chunk inserts first is not returned.
_INSERT_STUBS = """
INSERT INTO accounts_account (account_id, email, org_id, tier, verification, country, payment_fingerprint,
    signup_user_agent, provider_status, enforcement, snapshot_versions, first_ingested_at, first_batch_id)
SELECT ids.account_id, '', '', '', '', '', '', '', '', 'none', '{}'::jsonb, now(), %s
FROM unnest(%s::text[]) AS ids (account_id)
ORDER BY ids.account_id
ON CONFLICT (account_id) DO NOTHING
RETURNING account_id, id
"""

_COLUMNS = ", ".join(COPY_COLUMNS)
_COPY_EVENTS = f"COPY accounts_usageevent ({_COLUMNS}) FROM STDIN (FORMAT BINARY)"

# Whether the chunk repeats stored events, judged from a thousand of its ids (a batch sent again, an
# overlapping export): then the plain COPY would only fail, so the chunk goes straight to ON CONFLICT.
_REPEATS_STORED = "SELECT EXISTS (SELECT 1 FROM accounts_usageevent WHERE event_id = ANY(%s::text[]))"

# The path for a chunk with duplicates: the same COPY stream into a staging table of the event
# table's own column types, then an insert that skips the ids already stored.
_STAGE_EVENTS = f"""
DROP TABLE IF EXISTS ingest_stage_events;
CREATE TEMP TABLE ingest_stage_events AS SELECT {_COLUMNS} FROM accounts_usageevent WITH NO DATA
"""
_INSERT_STAGED_EVENTS = f"""
INSERT INTO accounts_usageevent ({_COLUMNS})
SELECT {_COLUMNS} FROM ingest_stage_events ORDER BY account_id, ts
ON CONFLICT (event_id) DO NOTHING
"""
# Sorting a 200,000-row chunk in (account, ts) order needs about 80 MB to stay in memory.
_SORT_MEMORY = "SET LOCAL work_mem = '256MB'"

# The first alert of an account flags it: flagged_at is the earliest raised_at seen.
_INSERT_ALERTS = """
WITH inserted AS (
    INSERT INTO investigations_alert (alert_id, account_id, detector, score, raised_at, severity, summary,
        source, batch_id, status, dismiss_reason)
    SELECT s.alert_id, a.id, s.detector, s.score, s.raised_at, s.severity, s.summary, 'upstream', %s, 'new', ''
    FROM ingest_stage_alerts s JOIN accounts_account a ON a.account_id = s.account_id
    ON CONFLICT (alert_id) DO NOTHING
    RETURNING account_id, raised_at
), first AS (
    SELECT account_id, min(raised_at) AS raised_at FROM inserted GROUP BY account_id
), flagged AS (
    UPDATE accounts_account acc SET flagged_at = first.raised_at FROM first
    WHERE acc.id = first.account_id AND (acc.flagged_at IS NULL OR acc.flagged_at > first.raised_at)
    RETURNING 1
)
SELECT (SELECT count(*) FROM inserted)
"""


@dataclass
class Staged:
    """A chunk after `prepare`: alerts in the session's staging table, events and the rest in memory."""

    batch_id: int
    events: EventRows
    account_keys: dict[str, int] = field(default_factory=dict)
    accounts_new: int = 0
    alerts: int = 0
    snapshots: list[AccountSnapshot] = field(default_factory=list)
    rejects: list[tuple[int, int, str]] = field(default_factory=list)


def prepare(*, batch_id: int, lines: Iterable[tuple[int, bytes | None]]) -> Staged:
    """Validate the chunk, encode its events, stage its alerts and create the stub accounts it names.

    The caller commits this before `load`: the stubs are then visible to every other chunk of the
    batch, which would otherwise wait on each other's uncommitted stub rows (the first chunks of a
    batch all name the same accounts). A stub without its chunk's rows is harmless: the chunk is
    still pending and its re-run stores them. The alert staging table belongs to the session and
    outlives this transaction; `load` or `discard` drops it.
    """
    alerts: list[tuple[Any, ...]] = []
    # The raw psycopg cursor raises psycopg's errors: wrapped, a deadlock or a dropped connection is
    # Django's OperationalError, which the task retries.
    with connection.wrap_database_errors, connection.cursor() as django_cursor:
        cursor = django_cursor.cursor
        staged = Staged(batch_id=batch_id, events=EventRows(cursor, batch_id))
        snapshots, rejects = staged.snapshots, staged.rejects
        add_event = staged.events.add
        for line_no, raw in lines:
            try:
                kind, record = parse_line(raw, line_no)
            except Rejected as exc:
                rejects.append((batch_id, line_no, exc.reason))
                continue
            if kind == "event":
                add_event(record)
            elif kind == "alert":
                alerts.append(record)
            else:
                snapshots.append(record)
        staged.alerts = len(alerts)
        if alerts:  # most chunks have none: no temporary table to create for them
            cursor.execute(_STAGE_ALERTS)
            with cursor.copy("COPY ingest_stage_alerts FROM STDIN (FORMAT BINARY)") as copy:
                copy.set_types(ALERT_TYPES)
                for row in alerts:
                    copy.write_row(row)
        named = set(staged.events.by_account)
        named.update(row[1] for row in alerts)
        named.update(s.account_id for s in snapshots)
        staged.account_keys, staged.accounts_new = _account_keys(cursor, batch_id, named)
    return staged


def _account_keys(cursor: Cursor, batch_id: int, named: set[str]) -> tuple[dict[str, int], int]:
    """The keys of every named account, creating stubs for the missing; and how many were created.

    Known accounts are only looked up: an insert that skips them on conflict cost the database four
    times the lookup (0.08 s against 0.02 s for 24,000 names, once per chunk).
    """
    cursor.execute(_ACCOUNT_KEYS, [list(named)])
    keys: dict[str, int] = dict(cursor.fetchall())
    missing = sorted(named.difference(keys))
    if not missing:
        return keys, 0
    cursor.execute(_INSERT_STUBS, [batch_id, missing])
    created = cursor.fetchall()
    keys.update(created)
    if len(keys) < len(named):  # inserted meanwhile by a concurrent chunk, committed by now
        cursor.execute(_ACCOUNT_KEYS, [list(named.difference(keys))])
        keys.update(cursor.fetchall())
    return keys, len(created)


def load(staged: Staged, *, lines: Iterable[tuple[int, bytes | None]] = ()) -> ChunkCounts:
    """Store a prepared chunk: rejected lines, snapshots, alerts, events; inside the caller's transaction.

    `lines` is not read again: everything is staged.
    """
    batch_id = staged.batch_id
    counts = ChunkCounts(accounts_new=staged.accounts_new)
    with connection.wrap_database_errors, connection.cursor() as django_cursor:
        cursor = django_cursor.cursor
        # The chunk's rows and its "done" mark commit together (services.chunk_load), so a commit lost
        # in a database crash only leaves the chunk pending, and it runs again: no need to wait for
        # the WAL flush.
        cursor.execute("SET LOCAL synchronous_commit = off")
        if staged.rejects:
            with cursor.copy("COPY ingest_rejectedline (batch_id, line_no, reason) FROM STDIN") as copy:
                for row in staged.rejects:
                    copy.write_row(row)
        counts.updated_accounts = apply_snapshots(batch_id=batch_id, snapshots=staged.snapshots)
        counts.accounts_updated = len(counts.updated_accounts)
        if staged.alerts:
            cursor.execute(_INSERT_ALERTS, [batch_id])
            counts.alerts_new = cursor.fetchone()[0]
        events = staged.events.count
        if events:
            counts.events_new = _insert_events(cursor, staged.events, staged.account_keys)
    discard(staged)
    counts.duplicates = (staged.alerts - counts.alerts_new) + (events - counts.events_new)
    counts.rejected = len(staged.rejects)
    counts.records = len(staged.snapshots) + staged.alerts + events
    return counts


def discard(staged: Staged) -> None:
    """Drop the staging tables (now, in case the session loads more chunks); the encoded events go
    with `staged`."""
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS ingest_stage_events, ingest_stage_alerts")


def load_chunk(*, batch_id: int, lines: Iterable[tuple[int, bytes | None]]) -> ChunkCounts:
    """`prepare` and `load` in the caller's one transaction."""
    return load(prepare(batch_id=batch_id, lines=lines))


def _insert_events(cursor: Cursor, events: EventRows, keys: Mapping[str, int]) -> int:
    """Insert the chunk's events that are new; returns how many.

    A plain COPY first: it writes heap pages many rows at a time, where `INSERT … SELECT` goes row by
    row, and it needs no staging table (a quarter less database time per event). New events are the
    common case. Any duplicate, stored before, twice in the chunk, or in a concurrent chunk that
    commits first, raises unique_violation; the savepoint undoes the partial COPY and ON CONFLICT DO
    NOTHING decides row by row.
    """
    cursor.execute(_REPEATS_STORED, [events.sample_ids()])
    if not cursor.fetchone()[0]:
        cursor.execute("SAVEPOINT ingest_events")
        try:
            inserted = _copy(cursor, _COPY_EVENTS, events, keys)
        except UniqueViolation:
            cursor.execute("ROLLBACK TO SAVEPOINT ingest_events")
        else:
            cursor.execute("RELEASE SAVEPOINT ingest_events")
            return inserted
    cursor.execute(_STAGE_EVENTS)
    _copy(cursor, "COPY ingest_stage_events FROM STDIN (FORMAT BINARY)", events, keys)
    cursor.execute(_SORT_MEMORY)
    cursor.execute(_INSERT_STAGED_EVENTS)
    return cursor.rowcount


def _copy(cursor: Cursor, statement: str, events: EventRows, keys: Mapping[str, int]) -> int:
    """Send the chunk's events as one binary COPY; returns the rows copied."""
    with cursor.copy(statement) as copy:
        for block in events.copy_data(keys):
            copy.write(block)
    return cursor.rowcount
