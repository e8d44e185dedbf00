"""The numpy helpers the full run's one event scan feeds: same answers as `np.unique`."""

from __future__ import annotations

import numpy as np
import pytest

from investigations.detection.event_scan import account_codes, distinct


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_distinct_matches_unique(seed):
    rng = np.random.default_rng(seed)
    keys = rng.integers(-(1 << 40), 1 << 40, 50_000) // 1000  # many repeats, negatives too
    assert np.array_equal(distinct(keys), np.unique(keys))


def test_distinct_of_nothing():
    assert distinct(np.zeros(0, dtype=np.int64)).size == 0


@pytest.mark.parametrize(
    "accounts",
    [
        np.array([7, 3, 3, 9, 7, 7, 12], dtype=np.int64),  # dense range: the lookup table
        np.array([5, 10**12, 5, 42, 10**12], dtype=np.int64),  # sparse: falls back to np.unique
        np.zeros(0, dtype=np.int64),
    ],
)
def test_account_codes_match_unique_with_inverse(accounts):
    got, index = account_codes(accounts)
    want, want_index = np.unique(accounts, return_inverse=True)
    assert np.array_equal(got, want)
    assert np.array_equal(index, want_index)
    assert np.array_equal(got[index], accounts)


@pytest.mark.django_db
def test_scan_events_returns_every_column_as_stored():
    """The packed scan (tokens in one int8, category/CoT/SimHash flags in one int2) unpacks exactly."""
    from datetime import UTC, datetime

    from accounts.models import UsageEvent
    from investigations.detection.event_scan import CATEGORY_VALUES, scan_events
    from tests.accounts.factories import AccountFactory, UsageEventFactory

    account = AccountFactory()
    ts = datetime(2026, 2, 1, 12, 0, 0, 123456, tzinfo=UTC)
    rows = [
        {"input_tokens": None, "output_tokens": None, "category": "", "cot_requested": None, "prompt_simhash": None},
        {"input_tokens": 2**31 - 1, "output_tokens": 2**31 - 1, "category": "vision", "cot_requested": True,
         "prompt_simhash": -(2**63)},
        {"input_tokens": 0, "output_tokens": 7, "category": "chat", "cot_requested": False, "prompt_simhash": 0},
        {"input_tokens": 12, "output_tokens": None, "category": "other", "cot_requested": True,
         "prompt_simhash": 2**63 - 1},
        # Not accepted by ingest, but the columns allow it: packing must not mix the two counts.
        {"input_tokens": -5, "output_tokens": -(2**31), "category": "coding", "cot_requested": False,
         "prompt_simhash": 1},
    ]  # fmt: skip
    for i, fields in enumerate(rows):
        UsageEventFactory(account=account, ts=ts.replace(second=i), **fields)
    arrays = scan_events()
    by_id = {e.ts.second: e for e in UsageEvent.objects.all()}
    order = np.argsort(arrays.micros)
    assert len(order) == len(rows)
    for position, second in zip(order, sorted(by_id), strict=True):
        event = by_id[second]
        assert arrays.account[position] == account.pk
        assert arrays.micros[position] == int(event.ts.timestamp()) * 1_000_000 + 123456
        assert arrays.input_tokens[position] == (event.input_tokens or 0)
        assert arrays.output_tokens[position] == (event.output_tokens or 0)
        want_category = CATEGORY_VALUES.index(event.category) + 1 if event.category else 0
        assert arrays.category[position] == want_category
        assert arrays.cot[position] == bool(event.cot_requested)
        assert arrays.has_simhash[position] == (event.prompt_simhash is not None)
        if event.prompt_simhash is not None:
            assert int(arrays.simhash[position].view(np.int64)) == event.prompt_simhash


@pytest.mark.django_db(transaction=True)
def test_the_background_scan_reads_on_its_own_connection_at_the_callers_snapshot(monkeypatch):
    """The full run's scan, alongside the stage, sees exactly the events of the run's transaction."""
    import threading
    from datetime import UTC, datetime

    from django.db import connection, transaction

    from investigations.detection import event_scan
    from tests.accounts.factories import AccountFactory, UsageEventFactory

    account = AccountFactory()
    for second in range(3):
        UsageEventFactory(account=account, ts=datetime(2026, 2, 1, 12, 0, second, tzinfo=UTC))
    backends = []
    committed = threading.Event()
    real_scan = event_scan.scan_events

    def recording_scan():
        committed.wait(10)  # read only after the other event is committed
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            backends.append(cursor.fetchone()[0])
        return real_scan()

    monkeypatch.setattr(event_scan, "scan_events", recording_scan)

    def commit_another_event():  # on a connection of its own, after the snapshot was taken
        UsageEventFactory(account=account, ts=datetime(2026, 2, 1, 13, 0, 0, tzinfo=UTC))
        connection.close()

    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            cursor.execute("SELECT pg_backend_pid()")
            own_backend = cursor.fetchone()[0]
        with event_scan.scan_alongside(background=True) as scanned:
            writer = threading.Thread(target=commit_another_event)
            writer.start()
            writer.join()
            committed.set()
            arrays = scanned.result()
        here = real_scan()
    assert backends and backends[0] != own_backend
    assert len(arrays.account) == 3  # the event committed after the snapshot is not in it
    assert np.array_equal(arrays.micros, here.micros) and np.array_equal(arrays.account, here.account)
