"""Which accounts used which request-metadata values: the one event scan behind rarity and matching.

`UsageEvent` has no index on ip/asn/user agent (16M rows; an index per column would slow ingest),
so on PostgreSQL every kind is answered by a single sequential scan: rows are pre-filtered by
`= ANY(array)` per column (hashed by the planner), expanded to (kind, value) pairs with a LATERAL
VALUES list and grouped. SQLite (embedded demo, small data) uses one ORM query per kind.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.db import connection
from django.db.models import Count, Max, Min

from accounts.models import UsageEvent

# kind -> UsageEvent column. Values are compared as text (simhash: signed bigint as decimal text).
EVENT_COLUMNS: dict[str, str] = {
    "ip": "ip",
    "asn": "asn",
    "user-agent": "user_agent",
    "ja4": "ja4",
    "system-prompt": "system_prompt_sha256",
    "tools": "tools_sha256",
    "simhash": "prompt_simhash",
}
_PG_EXPR = {
    "ip": "host(e.ip)",
    "asn": "e.asn::text",
    "user-agent": "e.user_agent",
    "ja4": "e.ja4",
    "system-prompt": "e.system_prompt_sha256",
    "tools": "e.tools_sha256",
    "simhash": "e.prompt_simhash::text",
}
_PG_ARRAY = {
    "ip": "inet[]",
    "asn": "bigint[]",
    "user-agent": "text[]",
    "ja4": "text[]",
    "system-prompt": "text[]",
    "tools": "text[]",
    "simhash": "bigint[]",
}


@dataclass
class Hit:
    """One account's use of one value."""

    account_id: int
    kind: str
    value: str
    events: int
    first_seen: datetime
    last_seen: datetime


def _typed(kind: str, values: Iterable[str]) -> list:
    if kind in ("asn", "simhash"):
        return [int(v) for v in values]
    return list(values)


def account_hits(values: dict[str, set[str]], *, account_ids: list[int] | None = None) -> list[Hit]:
    """Every (account, kind, value) where an event used one of `values[kind]`; optionally only some accounts."""
    values = {k: v for k, v in values.items() if v and k in EVENT_COLUMNS}
    if not values:
        return []
    if connection.vendor == "postgresql":
        return _pg_hits(values, account_ids)
    return _orm_hits(values, account_ids)


def _pg_hits(values: dict[str, set[str]], account_ids: list[int] | None) -> list[Hit]:
    table = UsageEvent._meta.db_table
    prefilter, params = [], []
    for kind, vals in values.items():
        prefilter.append(f"e.{EVENT_COLUMNS[kind]} = ANY(%s::{_PG_ARRAY[kind]})")
        params.append(_typed(kind, vals))
    pairs = ", ".join(f"('{kind}', {_PG_EXPR[kind]})" for kind in values)
    wanted_kinds, wanted_values = [], []
    for kind, vals in values.items():
        for v in vals:
            wanted_kinds.append(kind)
            wanted_values.append(str(v))
    scope = ""
    if account_ids is not None:
        scope = "AND e.account_id = ANY(%s::bigint[])"
        params.append(account_ids)
    sql = f"""
        WITH wanted AS (SELECT * FROM unnest(%s::text[], %s::text[]) AS w(kind, value))
        SELECT e.account_id, x.kind, x.value, count(*), min(e.ts), max(e.ts)
        FROM {table} e
        CROSS JOIN LATERAL (VALUES {pairs}) AS x(kind, value)
        WHERE ({" OR ".join(prefilter)}) {scope}
          AND (x.kind, x.value) IN (SELECT kind, value FROM wanted)
        GROUP BY e.account_id, x.kind, x.value
    """  # noqa: S608 - only column names from EVENT_COLUMNS are interpolated
    with connection.cursor() as cur:
        cur.execute(sql, [wanted_kinds, wanted_values, *params])
        return [Hit(*row) for row in cur.fetchall()]


def _orm_hits(values: dict[str, set[str]], account_ids: list[int] | None) -> list[Hit]:
    hits: list[Hit] = []
    for kind, vals in values.items():
        column = EVENT_COLUMNS[kind]
        qs = UsageEvent.objects.filter(**{f"{column}__in": _typed(kind, vals)})
        if account_ids is not None:
            qs = qs.filter(account_id__in=account_ids)
        rows = qs.values_list("account_id", column).annotate(n=Count("id"), first=Min("ts"), last=Max("ts"))
        hits.extend(Hit(acc, kind, str(val), n, first, last) for acc, val, n, first, last in rows.order_by())
    return hits


def distinct_accounts(values: dict[str, set[str]]) -> dict[tuple[str, str], int]:
    """How many accounts in the whole database used each value (its rarity)."""
    counts: dict[tuple[str, str], int] = {}
    for hit in account_hits(values):
        counts[(hit.kind, hit.value)] = counts.get((hit.kind, hit.value), 0) + 1
    return counts
