"""Linking signals, one module each. Every signal answers "how much does this say same operator?" as a weight 0-1.

- `shared_values`: indicator values two accounts (or account groups) share, weighted by kind and rarity.
- `prompt_echo`: near-identical prompts (`prompt_simhash`) sent by different accounts close in time.
- `signup_burst`: accounts signed up in a burst with one e-mail pattern.
- `sync_activity`: accounts active in the same minutes, again and again (SynchroTrap-style lockstep).

Behavioural signals write `AccountLink` rows through `store_links`; `shared_values` is read
directly from the indicator index at clustering time.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.db.models import Q

from config.db import temp_table_from_rows
from investigations.detection.models import AccountLink


@dataclass
class PairLink:
    """A behavioural observation between two accounts (by primary key), before it is stored."""

    a: int
    b: int
    signal: str
    weight: float
    count: int = 1
    detail: dict = field(default_factory=dict)


def upsert_links(links: Iterable[PairLink]) -> int:
    """Write links (insert or overwrite weight, count and detail); the caller removes stale ones first."""
    rows: dict[tuple[int, int, str], PairLink] = {}
    for link in links:
        a, b = (link.a, link.b) if link.a < link.b else (link.b, link.a)
        if a != b:
            rows[(a, b, link.signal)] = link
    if connection.vendor == "postgresql":
        _upsert_copy(rows)
        return len(rows)
    AccountLink.objects.bulk_create(
        [
            AccountLink(
                account_a_id=a, account_b_id=b, signal=signal, weight=link.weight, count=link.count, detail=link.detail
            )
            for (a, b, signal), link in rows.items()
        ],
        batch_size=2000,
        update_conflicts=True,
        unique_fields=["account_a", "account_b", "signal"],
        update_fields=["weight", "count", "detail"],
    )
    return len(rows)


def _upsert_copy(rows: dict[tuple[int, int, str], PairLink]) -> None:
    """PostgreSQL: COPY the rows into a temporary table, then one INSERT ... ON CONFLICT.

    Model objects and 2,000-row VALUES statements took seconds for 100,000 links.
    Like `bulk_create`, a conflict overwrites weight, count and detail only.
    """
    if not rows:
        return
    table = AccountLink._meta.db_table
    columns = 'account_a_id, account_b_id, signal, weight, "count", detail'
    with transaction.atomic(), connection.cursor() as cursor:
        temp_table_from_rows(
            cursor,
            "hw_link_upsert",
            f"AS SELECT {columns} FROM {table} WITH NO DATA",
            columns,
            ((a, b, signal, link.weight, link.count, json.dumps(link.detail)) for (a, b, signal), link in rows.items()),
        )
        cursor.execute(
            f"INSERT INTO {table} ({columns}, updated_at) SELECT {columns}, now() FROM hw_link_upsert "
            "ON CONFLICT (account_a_id, account_b_id, signal) "
            'DO UPDATE SET weight = excluded.weight, "count" = excluded."count", detail = excluded.detail'
        )
        cursor.execute("DROP TABLE hw_link_upsert")


def links_delete(pks: Sequence[int]) -> None:
    """Delete links by primary key, in chunks (PostgreSQL: one array parameter per chunk, no ORM delete)."""
    for start in range(0, len(pks), 10_000):
        chunk = list(pks[start : start + 10_000])
        if connection.vendor != "postgresql":
            AccountLink.objects.filter(pk__in=chunk).delete()
            continue
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {AccountLink._meta.db_table} WHERE id = ANY(%s)", [chunk])


StoredLinks = dict[tuple[int, int], tuple[int, float, int, dict]]


def stored_links(signal: str, *, where: Q | None = None) -> StoredLinks:
    """The stored links of one signal (those matching `where` too, if given): {(a, b): (pk, weight, count, detail)}.

    Plain tuples, no model objects. On PostgreSQL the ORM's SQL runs on a raw cursor and
    every detail is decoded by one `json.loads`: row by row, 200,000 links took seconds.
    """
    links = AccountLink.objects.filter(signal=signal)
    if where is not None:
        links = links.filter(where)
    rows = links.values_list("account_a_id", "account_b_id", "pk", "weight", "count", "detail")
    if connection.vendor != "postgresql":
        return {(a, b): (pk, weight, count, detail or {}) for a, b, pk, weight, count, detail in rows.iterator(5000)}
    sql, params = rows.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        found = cursor.fetchall()
    # The column is NOT NULL jsonb, returned as text (Django's loader): one array to decode.
    details = json.loads("[" + ",".join(row[5] for row in found) + "]")
    return {
        (a, b): (pk, weight, count, detail) for (a, b, pk, weight, count, _), detail in zip(found, details, strict=True)
    }


def links_replace(signal: str, links: Iterable[PairLink], *, stored: StoredLinks | None = None) -> int:
    """Make the stored links of one signal exactly `links`, writing only what differs. Returns the links kept.

    Rewriting every link on every run costs time in proportion to all links ever
    found, while a batch changes only a few of them: unchanged rows are left alone,
    vanished ones deleted, new or changed ones upserted.
    """
    wanted: dict[tuple[int, int], PairLink] = {}
    for link in links:
        a, b = (link.a, link.b) if link.a < link.b else (link.b, link.a)
        if a != b:
            wanted[(a, b)] = link
    if stored is None:
        stored = stored_links(signal)
    links_delete([row[0] for pair, row in stored.items() if pair not in wanted])
    changed = [
        link
        for pair, link in wanted.items()
        if pair not in stored or stored[pair][1:] != (link.weight, link.count, link.detail)
    ]
    upsert_links(changed)
    return len(wanted)


def links_touching(signal: str, account_ids: Sequence[int] | None):
    """The stored links of one signal that involve any of the accounts (all of them when None)."""
    links = AccountLink.objects.filter(signal=signal)
    if account_ids is None:
        return links
    return links.filter(Q(account_a_id__in=account_ids) | Q(account_b_id__in=account_ids))
