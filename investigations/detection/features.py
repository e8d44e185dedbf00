"""Per-account features: request and token volumes, category mix, CoT share, rhythm, IP/ASN/key counts.

A full run on PostgreSQL counts them with numpy from its one read of every
event (`event_scan`: account, time, tokens, category, CoT), which the prompt
echo and lockstep steps read too; grouping 16M events by account and hour in
SQL, or 37 filtered counts per account, each cost several table scans. The
distinct IP/ASN/key counts come from the event stage (`event_stage`), built
once per run for the indicator index too. A recompute of some accounts (and
after a batch, `batches.batch_apply`, which adds the batch's events instead)
runs grouped SQL over their events; category counts are packed into one
numeric sum (a base-2^40 digit each) instead of six filtered counts. SQLite
(the embedded demo) runs the portable ORM version.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

import numpy as np
from django.db import connection
from django.db.models import Count, Max, Min, Q, Sum
from django.db.models.functions import ExtractHour, ExtractIsoWeekDay

from accounts.models import UsageEvent
from config.db import chunked
from investigations.detection.event_scan import EventArrays, account_codes
from investigations.detection.event_stage import CHUNK, EVENTS, STAGE, scope_sql, stage_events
from investigations.detection.models import AccountFeatures

CATEGORIES = list(zip(AccountFeatures.CATEGORY_FIELDS, UsageEvent.Category.values, strict=True))
_UPDATE_FIELDS = [
    "events",
    "input_tokens",
    "output_tokens",
    "cot_events",
    *AccountFeatures.CATEGORY_FIELDS,
    "hours",
    "weekdays",
    "distinct_ips",
    "distinct_asns",
    "distinct_keys",
    "first_seen",
    "last_seen",
]
# Rows whose values did not change are not rewritten: a full run would otherwise leave a dead
# version of all 200,000 rows behind (and write them all to the WAL) to change a handful.
_UPSERT = (
    "ON CONFLICT (account_id) DO UPDATE SET "
    + ", ".join(f"{field} = excluded.{field}" for field in _UPDATE_FIELDS)
    + f" WHERE ({', '.join(f't.{field}' for field in _UPDATE_FIELDS)}) "
    + f"IS DISTINCT FROM ({', '.join(f'excluded.{field}' for field in _UPDATE_FIELDS)})"
)


def _scopes(account_ids: Sequence[int] | None) -> Iterable[Q]:
    """One filter for everything (a full run), or one per chunk of account ids (an incremental run)."""
    if account_ids is None:
        yield Q()
        return
    for chunk in chunked(sorted(account_ids), CHUNK):
        yield Q(account_id__in=chunk)


def _plain_rows(queryset, *, stream: bool) -> Iterator[tuple]:
    """The queryset's rows as plain tuples, skipping Django's per-value converters (up to 168 rows per account).

    A full run streams through a server-side cursor (millions of rows); an incremental
    chunk is fetched at once, which also keeps PostgreSQL from planning for the first
    rows only, as it does for a server-side cursor.
    """
    sql, params = queryset.query.sql_with_params()
    cursor = connection.chunked_cursor() if stream else connection.cursor()
    with cursor:
        cursor.execute(sql, params)
        while batch := cursor.fetchmany(CHUNK * 10):
            yield from batch


TABLE = AccountFeatures._meta.db_table
# Category counts packed into one numeric sum, a base-2^40 digit each (exact below 2^40 events an
# account): one aggregate instead of six filtered counts, each of which costs about a scan.
_BASE = 2**40
_CATEGORY_PLACES = "{" + ",".join(str(_BASE**i) for i in range(len(CATEGORIES))) + "}"
_CATEGORY_NAMES = "{" + ",".join(value for _, value in CATEGORIES) + "}"
_HOUR = "date_part('hour', e.ts AT TIME ZONE 'UTC')::int"
_WEEKDAY = "date_part('isodow', e.ts AT TIME ZONE 'UTC')::int"


def _dense_sql(cells: str, column: str, first: int, last: int) -> str:
    """SQL: per account, a JSON array of the counts in `cells` for `column` = first..last (0 where none)."""
    return (
        f"SELECT a.account_id, jsonb_agg(COALESCE(x.n, 0) ORDER BY g.v) AS counts "
        f"FROM (SELECT DISTINCT account_id FROM {cells}) a CROSS JOIN generate_series({first}, {last}) AS g(v) "
        f"LEFT JOIN (SELECT account_id, {column} AS v, SUM(n)::bigint AS n FROM {cells} GROUP BY 1, 2) x "
        "ON x.account_id = a.account_id AND x.v = g.v GROUP BY a.account_id"
    )


def features_select_sql(source: str, scope: str = "") -> str:
    """SQL: one row per account of `source` (events `e`, filtered by `scope`) in `AccountFeatures` column order,
    up to the distinct counts: account_id, events, tokens, CoT, categories, hours, weekdays, first, last seen.
    """
    categories = ", ".join(
        f"COALESCE(mod(div(t.cats, {_BASE**i}::numeric), {_BASE}), 0)::bigint" for i in range(len(CATEGORIES))
    )
    return (
        f"WITH cells AS MATERIALIZED (SELECT e.account_id, {_HOUR} AS h, {_WEEKDAY} AS d, COUNT(*) AS n "
        f"FROM {source} e WHERE 1 = 1{scope} GROUP BY 1, 2, 3), "
        f"hours AS ({_dense_sql('cells', 'h', 0, 23)}), weekdays AS ({_dense_sql('cells', 'd', 1, 7)}) "
        f"SELECT t.account_id, t.n, t.tin, t.tout, t.cot, {categories}, hours.counts, weekdays.counts, "
        "t.first_seen, t.last_seen FROM ("
        "SELECT e.account_id, COUNT(*) AS n, COALESCE(SUM(e.input_tokens), 0) AS tin, "
        "COALESCE(SUM(e.output_tokens), 0) AS tout, COUNT(*) FILTER (WHERE e.cot_requested) AS cot, "
        "MIN(e.ts) AS first_seen, MAX(e.ts) AS last_seen, "
        f"SUM(('{_CATEGORY_PLACES}'::numeric[])[array_position('{_CATEGORY_NAMES}'::text[], e.category::text)]) "
        f"AS cats FROM {source} e WHERE 1 = 1{scope} GROUP BY e.account_id) t "
        "JOIN hours ON hours.account_id = t.account_id JOIN weekdays ON weekdays.account_id = t.account_id"
    )


FEATURE_COLUMNS = (
    "account_id, events, input_tokens, output_tokens, cot_events, "
    + ", ".join(field for field, _ in CATEGORIES)
    + ", hours, weekdays, first_seen, last_seen"
)


def _timestamps(micros: np.ndarray) -> list[str]:
    return [f"{text}+00" for text in np.datetime_as_string(micros.astype("datetime64[us]"), unit="us")]


def _refresh_from_arrays(cursor, arrays: EventArrays) -> int:
    """PostgreSQL, every account: the features counted with numpy from the run's one read of every event.

    The same sums as the SQL aggregates (tokens unknown count 0, as SUM skips
    NULLs; an account whose tokens are all unknown gets 0 either way), written
    through a temporary table with the distinct counts from the stage.
    """
    accounts, index = account_codes(arrays.account)
    size = len(accounts)
    micros = arrays.micros
    events = np.bincount(index, minlength=size)
    # Float sums of integers are exact below 2^53 (9e15 tokens for one account).
    tokens_in = np.bincount(index, weights=arrays.input_tokens, minlength=size).astype(np.int64)
    tokens_out = np.bincount(index, weights=arrays.output_tokens, minlength=size).astype(np.int64)
    cot = np.bincount(index[arrays.cot], minlength=size)
    categories = np.bincount(index * 7 + arrays.category, minlength=size * 7).reshape(-1, 7)[:, 1:]
    hours = np.bincount(index * 24 + (micros // (3600 * 1_000_000)) % 24, minlength=size * 24).reshape(-1, 24)
    # 1970-01-01 was a Thursday; 0 = Monday
    weekday = ((micros // (86_400 * 1_000_000)) + 3) % 7
    weekdays = np.bincount(index * 7 + weekday, minlength=size * 7).reshape(-1, 7)
    first = np.full(size, np.iinfo(np.int64).max, dtype=np.int64)
    last = np.full(size, np.iinfo(np.int64).min, dtype=np.int64)
    np.minimum.at(first, index, micros)
    np.maximum.at(last, index, micros)
    columns = (
        f"account_id, events, input_tokens, output_tokens, cot_events, {', '.join(f for f, _ in CATEGORIES)}, "
        "hours, weekdays, first_seen, last_seen"
    )
    cursor.execute("DROP TABLE IF EXISTS hw_features_all")
    cursor.execute(
        "CREATE TEMP TABLE hw_features_all (account_id bigint, events bigint, input_tokens bigint, "
        "output_tokens bigint, cot_events bigint, "
        + ", ".join(f"{f} bigint" for f, _ in CATEGORIES)
        + ", hours jsonb, weekdays jsonb, first_seen timestamptz, last_seen timestamptz)"
    )
    # Text rows written a few thousand at a time; JSON arrays of counts spelled by hand (json.dumps
    # per list and a write per row were most of this step's Python time at 200k accounts).
    lines: list[str] = []
    with cursor.copy(f"COPY hw_features_all ({columns}) FROM STDIN") as copy:
        for row in zip(
            accounts.tolist(),
            events.tolist(),
            tokens_in.tolist(),
            tokens_out.tolist(),
            cot.tolist(),
            categories.tolist(),
            hours.tolist(),
            weekdays.tolist(),
            _timestamps(first),
            _timestamps(last),
            strict=True,
        ):
            account, n, tin, tout, c, cats, h, d, f, la = row
            lines.append(
                "\t".join(map(str, (account, n, tin, tout, c, *cats)))
                + f"\t[{','.join(map(str, h))}]\t[{','.join(map(str, d))}]\t{f}\t{la}\n"
            )
            if len(lines) == 5000:
                copy.write("".join(lines))
                lines.clear()
        copy.write("".join(lines))
    cursor.execute(
        f"INSERT INTO {TABLE} AS t ({columns}, distinct_ips, distinct_asns, distinct_keys, updated_at) "
        "SELECT f.*, COALESCE(d.ips, 0), COALESCE(d.asns, 0), COALESCE(d.keys, 0), now() FROM hw_features_all f "
        "LEFT JOIN (SELECT account_id, COUNT(DISTINCT ip) AS ips, COUNT(DISTINCT asn) AS asns, "
        f"COUNT(DISTINCT api_key_id) FILTER (WHERE api_key_id <> '') AS keys FROM {STAGE} GROUP BY account_id) d "
        f"ON d.account_id = f.account_id {_UPSERT}"
    )
    written = cursor.rowcount
    cursor.execute("DROP TABLE hw_features_all")
    return written


def _refresh_sql(cursor, ids: Sequence[int] | None) -> int:
    """PostgreSQL: grouped passes over the events, written with `INSERT ... ON CONFLICT` (the stage is built)."""
    scope, params = scope_sql("e.account_id", ids)
    cursor.execute(
        f"INSERT INTO {TABLE} AS t ({FEATURE_COLUMNS}, distinct_ips, distinct_asns, distinct_keys, updated_at) "
        f"SELECT f.*, COALESCE(d.ips, 0), COALESCE(d.asns, 0), COALESCE(d.keys, 0), now() "
        f"FROM ({features_select_sql(EVENTS, scope)}) f "
        "LEFT JOIN (SELECT account_id, COUNT(DISTINCT ip) AS ips, COUNT(DISTINCT asn) AS asns, "
        f"COUNT(DISTINCT api_key_id) FILTER (WHERE api_key_id <> '') AS keys FROM {STAGE} GROUP BY account_id) d "
        f"ON d.account_id = f.account_id {_UPSERT}",
        params * 2,
    )
    return cursor.rowcount


def features_refresh(
    *, account_ids: Sequence[int] | None = None, staged: bool = False, arrays: EventArrays | None = None
) -> int:
    """Recompute `AccountFeatures` for the given accounts (all accounts with events when None).

    `staged` (all accounts only): the caller has just built the event stage for
    every account (a full run builds it once for the features and the indicator index);
    `arrays` (all accounts only): every event's time, read once for the whole run.
    Returns the number of rows written: new, or with a value that changed (PostgreSQL).
    """
    if connection.vendor != "postgresql":
        return _refresh_portable(account_ids)
    written = 0
    with connection.cursor() as cursor:
        if account_ids is None:
            if not staged:
                stage_events(cursor, None)
            if arrays is None:
                return _refresh_sql(cursor, None)
            return _refresh_from_arrays(cursor, arrays)
        for chunk in chunked(sorted(set(account_ids)), CHUNK):
            stage_events(cursor, chunk)
            written += _refresh_sql(cursor, chunk)
    return written


def _refresh_portable(account_ids: Sequence[int] | None) -> int:
    """The same features through the ORM (SQLite, the embedded demo: small tables)."""
    written = 0
    for scope in _scopes(account_ids):
        totals = (
            UsageEvent.objects.filter(scope)
            .values("account_id")
            .annotate(
                n=Count("id"),
                tin=Sum("input_tokens"),
                tout=Sum("output_tokens"),
                cot=Count("id", filter=Q(cot_requested=True)),
                ips=Count("ip", distinct=True),
                asns=Count("asn", distinct=True),
                keys=Count("api_key_id", distinct=True, filter=~Q(api_key_id="")),
                first=Min("ts"),
                last=Max("ts"),
                **{field: Count("id", filter=Q(category=value)) for field, value in CATEGORIES},
            )
            .order_by()
        )
        rows: dict[int, AccountFeatures] = {}
        for row in totals.iterator(chunk_size=CHUNK):
            rows[row["account_id"]] = AccountFeatures(
                account_id=row["account_id"],
                events=row["n"],
                input_tokens=row["tin"] or 0,
                output_tokens=row["tout"] or 0,
                cot_events=row["cot"],
                distinct_ips=row["ips"],
                distinct_asns=row["asns"],
                distinct_keys=row["keys"],
                first_seen=row["first"],
                last_seen=row["last"],
                hours=[0] * 24,
                weekdays=[0] * 7,
                **{field: row[field] for field, _ in CATEGORIES},
            )
        rhythm = (
            UsageEvent.objects.filter(scope)
            .annotate(h=ExtractHour("ts"), d=ExtractIsoWeekDay("ts"))
            .values("account_id", "h", "d")
            .annotate(n=Count("id"))
            .order_by()
        )
        for account_id, hour, weekday, n in _plain_rows(rhythm, stream=account_ids is None):
            feat = rows.get(account_id)
            if feat is not None:
                feat.hours[int(hour)] += n
                feat.weekdays[int(weekday) - 1] += n
        AccountFeatures.objects.bulk_create(
            rows.values(),
            batch_size=CHUNK,
            update_conflicts=True,
            unique_fields=["account"],
            update_fields=_UPDATE_FIELDS,
        )
        written += len(rows)
    return written
