"""Per-account features: request and token volumes, category mix, CoT share, rhythm, IP/ASN/key counts.

Computed with SQL aggregates (GROUP BY account) so the 16-million-row event
table never travels to Python; only one row per account (plus 24x7 rhythm
cells) comes back. The same ORM expressions run on PostgreSQL and SQLite.
An incremental run recomputes only the accounts a batch touched, from all of
their events, so counts stay exact (distinct IPs cannot be added up).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

from django.db import connection
from django.db.models import Count, Max, Min, Q, Sum
from django.db.models.functions import ExtractHour, ExtractIsoWeekDay

from accounts.models import UsageEvent
from config.db import chunked
from investigations.detection.models import AccountFeatures

CHUNK = 2000
_CATEGORIES = list(zip(AccountFeatures.CATEGORY_FIELDS, UsageEvent.Category.values, strict=True))
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


def features_refresh(*, account_ids: Sequence[int] | None = None) -> int:
    """Recompute `AccountFeatures` for the given accounts (all accounts with events when None).

    Returns the number of accounts written.
    """
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
                **{field: Count("id", filter=Q(category=value)) for field, value in _CATEGORIES},
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
                **{field: row[field] for field, _ in _CATEGORIES},
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
