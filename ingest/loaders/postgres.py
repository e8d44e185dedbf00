"""The PostgreSQL fast path: binary COPY into temporary staging tables, then set-based inserts.

Events stream straight from the validator into a binary COPY, so a chunk is
never held in Python memory. `prepare` stages the chunk and creates its stub
accounts (committed on their own, see there); `load` then stores what is new
with one `INSERT … SELECT` per table (plain first for events, `ON CONFLICT DO
NOTHING` as soon as a duplicate shows up): the difference between staged and
inserted rows is the duplicate count, whether the id came in an earlier batch,
another chunk, or twice in this one. Account ids are resolved with a hash join
on the staging table instead of `= ANY(huge array)`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from psycopg import Cursor
from psycopg.errors import UniqueViolation

from ingest.loaders import ChunkCounts
from ingest.snapshots import apply_snapshots
from ingest.validation import EVENT_COLUMNS, AccountSnapshot, Rejected, parse_line

EVENT_TYPES = [
    "text", "text", "timestamptz", "text", "text", "int8", "text", "text", "text",
    "int4", "int4", "text", "bool", "text", "text", "int8", "text",
]  # fmt: skip
ALERT_TYPES = ["text", "text", "text", "float8", "timestamptz", "text", "text"]

_STAGE_DDL = """
DROP TABLE IF EXISTS ingest_stage_events, ingest_stage_alerts;
CREATE TEMP TABLE ingest_stage_events (
    event_id text COLLATE "C", account_id text, ts timestamptz, api_key_id text, ip text, asn int8, user_agent text,
    ja4 text, model text, input_tokens int4, output_tokens int4, category text, cot_requested bool,
    system_prompt_sha256 text, tools_sha256 text, prompt_simhash int8, prompt_excerpt text
);
CREATE TEMP TABLE ingest_stage_alerts (
    alert_id text, account_id text, detector text, score float8, raised_at timestamptz, severity text, summary text
);
"""

# Every account named by the chunk exists afterwards; new ones are stubs until a snapshot fills them.
# Sorted, so concurrent chunks insert shared new ids in the same order and cannot deadlock.
_INSERT_STUBS = """
INSERT INTO accounts_account (account_id, email, org_id, tier, verification, country, payment_fingerprint,
    signup_user_agent, provider_status, enforcement, snapshot_versions, first_ingested_at, first_batch_id)
SELECT ids.account_id, '', '', '', '', '', '', '', '', 'none', '{}'::jsonb, now(), %s
FROM unnest(%s::text[]) AS ids (account_id)
ORDER BY ids.account_id
ON CONFLICT (account_id) DO NOTHING
RETURNING account_id
"""

_INSERT_EVENTS = f"""
INSERT INTO accounts_usageevent ({", ".join(EVENT_COLUMNS)}, batch_id)
SELECT s.event_id, a.id, s.ts, s.api_key_id, s.ip::inet, s.asn, s.user_agent, s.ja4, s.model, s.input_tokens,
    s.output_tokens, s.category, s.cot_requested, s.system_prompt_sha256, s.tools_sha256, s.prompt_simhash,
    s.prompt_excerpt, %s
FROM ingest_stage_events s JOIN accounts_account a ON a.account_id = s.account_id
ORDER BY a.id, s.ts
"""
_ON_CONFLICT = "ON CONFLICT (event_id) DO NOTHING"
# In (account, ts) order, a chunk's rows of one account go into the (account_id, ts) index together,
# one visit per leaf page instead of one per row. Once that index outgrows shared buffers this costs
# less than the sort: on a 16M-event table, 2.2-2.5 s of backend CPU per 200,000 events instead of
# 2.7-3.0 s. The sort of a 200,000-line chunk needs about 80 MB to stay in memory.
_SORT_MEMORY = "SET LOCAL work_mem = '256MB'"

# Whether the chunk repeats stored events, judged from its first staged ids (a batch sent again, an
# overlapping export): then the plain insert would only fail, so the chunk goes straight to ON CONFLICT.
_REPEATS_STORED = """
SELECT EXISTS (SELECT 1 FROM (SELECT event_id FROM ingest_stage_events LIMIT 1000) s
               JOIN accounts_usageevent e ON e.event_id = s.event_id)
"""

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
    """A chunk after `prepare`: events and alerts in the session's staging tables, the rest in memory."""

    batch_id: int
    accounts_new: int = 0
    events: int = 0
    alerts: int = 0
    snapshots: list[AccountSnapshot] = field(default_factory=list)
    rejects: list[tuple[int, int, str]] = field(default_factory=list)


def prepare(*, batch_id: int, lines: Iterable[tuple[int, bytes | None]]) -> Staged:
    """Validate the chunk into staging tables and create the stub accounts it names.

    The caller commits this before `load`: the stubs are then visible to every other chunk of the
    batch, which would otherwise wait on each other's uncommitted stub rows (the first chunks of a
    batch all name the same accounts). A stub without its chunk's rows is harmless: the chunk is
    still pending and its re-run stores them. The staging tables belong to the session and outlive
    this transaction; `load` or `discard` drops them.
    """
    staged = Staged(batch_id=batch_id)
    alerts: list[tuple[Any, ...]] = []
    # The raw psycopg cursor raises psycopg's errors: wrapped, a deadlock or a dropped connection is
    # Django's OperationalError, which the task retries.
    with connection.wrap_database_errors, connection.cursor() as django_cursor:
        cursor = django_cursor.cursor
        cursor.execute(_STAGE_DDL)
        copy_sql = f"COPY ingest_stage_events ({', '.join(EVENT_COLUMNS)}) FROM STDIN (FORMAT BINARY)"
        snapshots, rejects = staged.snapshots, staged.rejects
        events = 0
        # The accounts the chunk names, collected here: cheaper than a DISTINCT over the staged rows.
        named: set[str] = set()
        name = named.add
        with cursor.copy(copy_sql) as copy:
            copy.set_types(EVENT_TYPES)
            write_event = copy.write_row
            for line_no, raw in lines:
                try:
                    kind, record = parse_line(raw, line_no)
                except Rejected as exc:
                    rejects.append((batch_id, line_no, exc.reason))
                    continue
                if kind == "event":
                    write_event(record)
                    name(record[1])
                    events += 1
                elif kind == "alert":
                    alerts.append(record)
                else:
                    snapshots.append(record)
        staged.events, staged.alerts = events, len(alerts)
        if alerts:
            with cursor.copy("COPY ingest_stage_alerts FROM STDIN (FORMAT BINARY)") as copy:
                copy.set_types(ALERT_TYPES)
                for row in alerts:
                    copy.write_row(row)
        named.update(row[1] for row in alerts)
        named.update(s.account_id for s in snapshots)
        cursor.execute(_INSERT_STUBS, [batch_id, list(named)])
        staged.accounts_new = len(cursor.fetchall())
    return staged


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
        if staged.events:
            counts.events_new = _insert_events(cursor, batch_id)
    discard(staged)
    counts.duplicates = (staged.alerts - counts.alerts_new) + (staged.events - counts.events_new)
    counts.rejected = len(staged.rejects)
    counts.records = len(staged.snapshots) + staged.alerts + staged.events
    return counts


def discard(staged: Staged) -> None:
    """Drop the staging tables (now, in case the session loads more chunks)."""
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS ingest_stage_events, ingest_stage_alerts")


def load_chunk(*, batch_id: int, lines: Iterable[tuple[int, bytes | None]]) -> ChunkCounts:
    """`prepare` and `load` in the caller's one transaction."""
    return load(prepare(batch_id=batch_id, lines=lines))


def _insert_events(cursor: Cursor, batch_id: int) -> int:
    """Insert the staged events that are new; returns how many.

    A plain INSERT first: ON CONFLICT's speculative insertion costs about 30% more database time per
    row (bench/ingest.py), and new events are the common case. Any duplicate, stored before, twice in
    the chunk, or in a concurrent chunk that commits first, raises unique_violation; the savepoint
    undoes the partial insert and ON CONFLICT DO NOTHING decides row by row.
    """
    cursor.execute(_SORT_MEMORY)
    cursor.execute(_REPEATS_STORED)
    if not cursor.fetchone()[0]:
        cursor.execute("SAVEPOINT ingest_events")
        try:
            cursor.execute(_INSERT_EVENTS, [batch_id])
        except UniqueViolation:
            cursor.execute("ROLLBACK TO SAVEPOINT ingest_events")
        else:
            inserted = cursor.rowcount
            cursor.execute("RELEASE SAVEPOINT ingest_events")
            return inserted
    cursor.execute(_INSERT_EVENTS + _ON_CONFLICT, [batch_id])
    return cursor.rowcount
