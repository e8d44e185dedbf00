"""One pass over the events of some accounts (or all): their distinct values, per batch, with counts.

The indicator index, the distinct IP/ASN/key counts of the features and the
record of which batches the per-account state includes are all read from this
much smaller temporary table instead of scanning the event table once each.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import nullcontext

from config.db import local_settings

STAGE = "hw_event_values"
CHUNK = 2000
EVENTS = "accounts_usageevent"


def scope_sql(column: str, ids: Sequence[int] | None) -> tuple[str, list[int]]:
    """` AND column IN (...)` with its parameters, or nothing for every account."""
    if ids is None:
        return "", []
    return f" AND {column} IN ({','.join(['%s'] * len(ids))})", list(ids)


def stage_events(cursor, ids: Sequence[int] | None, *, source: str = EVENTS) -> None:
    """(Re)create the stage: distinct (account, batch, ip, asn, UA, JA4, prompt, tools, key) with counts.

    Raw columns: converting (host(), CAST) after grouping costs one call per
    distinct value, not per event. `source` is the event table or a temporary
    copy of one batch's events with the same columns.
    """
    scope, params = scope_sql("e.account_id", ids)
    cursor.execute(f"DROP TABLE IF EXISTS {STAGE}")
    whole_table = ids is None and source == EVENTS and cursor.db.vendor == "postgresql"
    with local_settings(cursor, _HASH_AGGREGATE) if whole_table else nullcontext():
        cursor.execute(_stage_sql(source, scope), params)


# Grouping the whole event table: the planner overestimates the distinct (account, values) rows
# about sixfold (1.6M for 250k at 16M events), so at the run's work_mem it sorts 16M wide rows on
# disk (2.2 GB of temporary files, 39 s here). With room for the hash table it runs in memory.
# An underestimate is safe: a hash aggregate that outgrows its memory spills to disk.
# One process, no parallel workers: the full run's event scan reads the table alongside, on the
# other core (`event_scan.scan_alongside`). With two workers competing with the scan, stage and
# scan together took 21-25 s on the 16M-event bench database; one core each, 15-16 s.
_HASH_AGGREGATE = {"work_mem": "512MB", "max_parallel_workers_per_gather": "0"}


def _stage_sql(source: str, scope: str) -> str:
    return (
        f"CREATE TEMP TABLE {STAGE} AS SELECT e.account_id AS account_id, e.batch_id AS batch_id, e.ip AS ip, "
        "e.asn AS asn, e.user_agent AS user_agent, e.ja4 AS ja4, e.system_prompt_sha256 AS system_prompt, "
        "e.tools_sha256 AS tools, e.api_key_id AS api_key_id, COUNT(*) AS n "
        f"FROM {source} e WHERE 1 = 1{scope} GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9"
    )


def stage_drop(cursor) -> None:
    cursor.execute(f"DROP TABLE IF EXISTS {STAGE}")
