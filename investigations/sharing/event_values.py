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
    first_seen: datetime | None
    last_seen: datetime | None


def _typed(kind: str, values: Iterable[str]) -> list:
    if kind in ("asn", "simhash"):
        return [int(v) for v in values]
    return list(values)


# Our kind -> the detection app's indicator-index kind (investigations.detection.models.Indicator.Kind).
INDEX_KINDS = {
    "ip": "ip",
    "asn": "asn",
    "user-agent": "user_agent",
    "ja4": "ja4",
    "system-prompt": "system_prompt",
    "tools": "tools",
}


def index_ready() -> bool:
    """Whether detection has built its indicator index (who exposes which value, kept current per batch).

    With it, "which accounts used this IP" is an indexed lookup instead of a scan of 16M events.
    """
    from investigations.detection.models import Indicator

    return Indicator.objects.exists()


def account_hits(values: dict[str, set[str]], *, account_ids: list[int] | None = None) -> list[Hit]:
    """Every (account, kind, value) where an event used one of `values[kind]`; optionally only some accounts.

    From the detection index when it is built (first/last seen are then unknown), else from the events.
    """
    values = {k: v for k, v in values.items() if v and k in EVENT_COLUMNS}
    if not values:
        return []
    hits: list[Hit] = []
    if index_ready():
        hits = _index_hits({k: v for k, v in values.items() if k in INDEX_KINDS}, account_ids)
        values = {k: v for k, v in values.items() if k not in INDEX_KINDS}
        if not values:
            return hits
    if connection.vendor == "postgresql":
        return hits + _pg_hits(values, account_ids)
    return hits + _orm_hits(values, account_ids)


def _index_hits(values: dict[str, set[str]], account_ids: list[int] | None) -> list[Hit]:
    from investigations.detection.models import AccountIndicator, Indicator

    hits: list[Hit] = []
    if connection.vendor != "postgresql":  # SQLite (embedded demo): small data, plain IN lists
        for kind, vals in values.items():
            qs = AccountIndicator.objects.filter(indicator__kind=INDEX_KINDS[kind], indicator__value__in=list(vals))
            if account_ids is not None:
                qs = qs.filter(account_id__in=account_ids)
            rows = qs.values_list("account_id", "indicator__value", "events")
            hits.extend(Hit(acc, kind, val, events, None, None) for acc, val, events in rows)
        return hits
    scope = "AND ai.account_id = ANY(%s)" if account_ids is not None else ""
    sql = f"""
        SELECT ai.account_id, i.value, ai.events FROM {Indicator._meta.db_table} i
        JOIN {AccountIndicator._meta.db_table} ai ON ai.indicator_id = i.id
        WHERE i.kind = %s AND i.value = ANY(%s) {scope}
    """  # noqa: S608 - table names only
    with connection.cursor() as cur:
        for kind, vals in values.items():
            params: list = [INDEX_KINDS[kind], list(vals)]
            if account_ids is not None:
                params.append(account_ids)
            cur.execute(sql, params)
            hits.extend(Hit(acc, kind, val, events, None, None) for acc, val, events in cur.fetchall())
    return hits


def account_counts(values: dict[str, set[str]]) -> dict[tuple[str, str], int]:
    """How many accounts in the whole database used each value: its rarity."""
    counts: dict[tuple[str, str], int] = {}
    if index_ready():
        from investigations.detection.models import Indicator

        for kind, vals in values.items():
            if kind in INDEX_KINDS and vals:
                rows = Indicator.objects.filter(kind=INDEX_KINDS[kind], value__in=list(vals))
                counts.update({(kind, v): n for v, n in rows.values_list("value", "account_count")})
        values = {k: v for k, v in values.items() if k not in INDEX_KINDS}
    for hit in account_hits(values):
        counts[(hit.kind, hit.value)] = counts.get((hit.kind, hit.value), 0) + 1
    return counts


def _pg_hits(values: dict[str, set[str]], account_ids: list[int] | None) -> list[Hit]:
    table = UsageEvent._meta.db_table
    if len(values) == 1 and account_ids is None:
        # One column: a plain filtered aggregate, which PostgreSQL can run as a parallel scan.
        ((kind, vals),) = values.items()
        sql = (
            f"SELECT e.account_id, {_PG_EXPR[kind]}, count(*), min(e.ts), max(e.ts) FROM {table} e "  # noqa: S608
            f"WHERE e.{EVENT_COLUMNS[kind]} = ANY(%s::{_PG_ARRAY[kind]}) GROUP BY e.account_id, {_PG_EXPR[kind]}"
        )
        with connection.cursor() as cur:
            cur.execute(sql, [_typed(kind, vals)])
            return [Hit(acc, kind, value, n, first, last) for acc, value, n, first, last in cur.fetchall()]
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
