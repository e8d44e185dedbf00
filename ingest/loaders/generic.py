"""The portable loader (SQLite in the embedded demo): the ORM, a few thousand rows at a time.

Same rules as the PostgreSQL path: ids already stored, or seen earlier in the
chunk, are duplicates; unknown accounts become stubs; snapshots merge field by
field. It relies on the caller's transaction being the only writer, which is
what SQLite's database-level write lock gives.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import islice
from typing import Any, cast

from django.db import connection
from django.db.models import Field, Min

from accounts.models import Account, UsageEvent
from ingest.loaders import ChunkCounts
from ingest.models import RejectedLine
from ingest.snapshots import apply_snapshots
from ingest.validation import ALERT_COLUMNS, EVENT_COLUMNS, AccountSnapshot, Rejected, parse_line
from investigations.models import Alert

GROUP = 2000
_IN_LIMIT = 500  # SQLite's limit on query parameters is low on old versions


def _slices(values: list[str], size: int = _IN_LIMIT) -> Iterator[list[str]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _existing(model: Any, field: str, values: set[str]) -> set[str]:
    found: set[str] = set()
    for part in _slices(sorted(values)):
        found.update(model.objects.filter(**{f"{field}__in": part}).values_list(field, flat=True))
    return found


def _account_pks(ids: set[str]) -> dict[str, int]:
    pks: dict[str, int] = {}
    for part in _slices(sorted(ids)):
        pks.update(Account.objects.filter(account_id__in=part).values_list("account_id", "pk"))
    return pks


def _ensure_accounts(batch_id: int, ids: set[str]) -> int:
    """Create stubs for account ids not stored yet; returns how many."""
    missing = ids - _existing(Account, "account_id", ids)
    Account.objects.bulk_create(
        [Account(account_id=i, first_batch_id=batch_id) for i in sorted(missing)], batch_size=500
    )
    return len(missing)


def load_chunk(*, batch_id: int, lines: Iterable[tuple[int, bytes | None]]) -> ChunkCounts:
    counts = ChunkCounts()
    snapshots: list[AccountSnapshot] = []
    seen_alerts: set[str] = set()
    seen_events: set[str] = set()
    lines = iter(lines)
    while group := list(islice(lines, GROUP)):
        events: list[tuple[Any, ...]] = []
        alerts: list[tuple[Any, ...]] = []
        rejects: list[RejectedLine] = []
        for line_no, raw in group:
            try:
                kind, record = parse_line(raw, line_no)
            except Rejected as exc:
                rejects.append(RejectedLine(batch_id=batch_id, line_no=line_no, reason=exc.reason))
                continue
            counts.records += 1
            if kind == "event":
                events.append(record)
            elif kind == "alert":
                alerts.append(record)
            else:
                snapshots.append(record)
        RejectedLine.objects.bulk_create(rejects)
        counts.rejected += len(rejects)
        named = {r[1] for r in events} | {r[1] for r in alerts} | {s.account_id for s in snapshots}
        counts.accounts_new += _ensure_accounts(batch_id, named)
        counts.alerts_new += _store_alerts(batch_id, alerts, seen_alerts)
        counts.events_new += _store_events(batch_id, events, seen_events)
        counts.duplicates += len(alerts) + len(events)
    counts.duplicates -= counts.alerts_new + counts.events_new
    counts.updated_accounts = apply_snapshots(batch_id=batch_id, snapshots=snapshots)
    counts.accounts_updated = len(counts.updated_accounts)
    return counts


# SQLite has one writer at a time, so there is no stub contention to avoid: everything happens in
# `load`, in the chunk's transaction.
def prepare(*, batch_id: int, lines: Iterable[tuple[int, bytes | None]]) -> int:
    return batch_id


def load(prepared: int, *, lines: Iterable[tuple[int, bytes | None]]) -> ChunkCounts:
    return load_chunk(batch_id=prepared, lines=lines)


def discard(prepared: int) -> None:
    pass


def _new_rows(rows: list[tuple[Any, ...]], model: Any, field: str, seen: set[str]) -> list[tuple[Any, ...]]:
    """Rows whose id is neither stored nor earlier in this chunk (the first occurrence wins)."""
    stored = _existing(model, field, {r[0] for r in rows} - seen)
    fresh = []
    for row in rows:
        if row[0] in seen or row[0] in stored:
            continue
        seen.add(row[0])
        fresh.append(row)
    return fresh


def _store_events(batch_id: int, rows: list[tuple[Any, ...]], seen: set[str]) -> int:
    """One executemany: bulk_create on SQLite is capped at 999 parameters, about 50 events per INSERT."""
    fresh = _new_rows(rows, UsageEvent, "event_id", seen)
    pks = _account_pks({r[1] for r in fresh})
    names = ["account" if name == "account_id" else name for name in EVENT_COLUMNS] + ["batch_id"]
    fields = [cast(Field, UsageEvent._meta.get_field(name)) for name in names]
    values = []
    for row in fresh:
        row = (row[0], pks[row[1]], *row[2:], batch_id)
        values.append([f.get_db_prep_save(v, connection) for f, v in zip(fields, row, strict=True)])
    columns = ", ".join(connection.ops.quote_name(str(f.column)) for f in fields)
    placeholders = ", ".join(["%s"] * len(fields))
    with connection.cursor() as cursor:
        cursor.executemany(f"INSERT INTO {UsageEvent._meta.db_table} ({columns}) VALUES ({placeholders})", values)
    return len(values)


def _store_alerts(batch_id: int, rows: list[tuple[Any, ...]], seen: set[str]) -> int:
    fresh = _new_rows(rows, Alert, "alert_id", seen)
    pks = _account_pks({r[1] for r in fresh})
    objs = []
    for row in fresh:
        values = dict(zip(ALERT_COLUMNS, row, strict=True))
        values["account_id"] = pks[values["account_id"]]
        objs.append(Alert(batch_id=batch_id, source=Alert.Source.UPSTREAM, **values))
    Alert.objects.bulk_create(objs, batch_size=500)
    # The first alert of an account flags it: flagged_at is the earliest raised_at seen.
    firsts = Alert.objects.filter(account_id__in={o.account_id for o in objs}).values("account_id")
    for item in firsts.annotate(first=Min("raised_at")):
        Account.objects.filter(pk=item["account_id"], flagged_at__isnull=True).update(flagged_at=item["first"])
        Account.objects.filter(pk=item["account_id"], flagged_at__gt=item["first"]).update(flagged_at=item["first"])
    return len(objs)
