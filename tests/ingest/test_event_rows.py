"""Event rows encoded for the COPY fast path: ids read back from the encoding, rows per account key."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection

from ingest.loaders.event_rows import COPY_COLUMNS, EventRows
from ingest.validation import parse_line
from tests.ingest.conftest import encode, event

pytestmark = pytest.mark.django_db


def rows(cursor, records) -> EventRows:
    encoded = EventRows(cursor, batch_id=42)
    for n, line in enumerate(encode(records).splitlines(), 1):
        kind, row = parse_line(line, n)
        assert kind == "event"
        encoded.add(row)
    return encoded


def test_sample_ids_are_read_back_from_the_encoded_rows():
    ids = ["e-1", "e.2", "e:3" * 40, "e_4"]  # the third one is 120 bytes long
    with connection.cursor() as cursor:
        encoded = rows(cursor.cursor, [event(i, account_id=f"acct_{n % 2}") for n, i in enumerate(ids)])
        assert encoded.count == 4
        assert sorted(encoded.sample_ids()) == sorted(ids)
        assert len(encoded.sample_ids(size=3)) == 3


@pytest.mark.parametrize("rows_per_join", [1, 2048])
def test_the_stream_orders_rows_by_account_key_and_leaves_out_unknown_accounts(rows_per_join, monkeypatch):
    monkeypatch.setattr("ingest.loaders.event_rows._ROWS_PER_JOIN", rows_per_join)
    with connection.cursor() as cursor:
        raw = cursor.cursor
        encoded = rows(
            raw,
            [
                event("a1", account_id="acct_a", ts="2026-02-01T10:00:00Z"),
                event("b1", account_id="acct_b", ip="2001:db8::7"),
                event("gone", account_id="acct_deleted"),
                event("a2", account_id="acct_a", ts="2026-02-01T09:00:00Z"),
            ],
        )
        raw.execute(f"CREATE TEMP TABLE t AS SELECT {', '.join(COPY_COLUMNS)} FROM accounts_usageevent WITH NO DATA")
        raw.execute("ALTER TABLE t ADD COLUMN seq serial")
        with raw.copy(f"COPY t ({', '.join(COPY_COLUMNS)}) FROM STDIN (FORMAT BINARY)") as copy:
            for block in encoded.copy_data({"acct_a": 7, "acct_b": 3}):
                copy.write(block)
        raw.execute("SELECT event_id, account_id, batch_id, host(ip), ts FROM t ORDER BY seq")
        stored = raw.fetchall()
    # Account 3 first, then account 7's rows in the order they came; the deleted account's row is left out.
    assert [row[:3] for row in stored] == [("b1", 3, 42), ("a1", 7, 42), ("a2", 7, 42)]
    assert stored[0][3] == "2001:db8::7" and stored[1][3] is None
    assert stored[2][4] == dt.datetime(2026, 2, 1, 9, tzinfo=dt.UTC)
