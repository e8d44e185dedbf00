"""The full run's one read of every event, and the numpy helpers it feeds."""

from __future__ import annotations

import numpy as np
import psycopg
import pytest
from django.db import connection, transaction

from accounts.models import Account, UsageEvent
from investigations.detection import event_scan
from investigations.detection.event_scan import account_codes, distinct
from tests.accounts.factories import AccountFactory, UsageEventFactory


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


def _arrays_equal(left, right) -> bool:
    return all(np.array_equal(getattr(left, name), getattr(right, name)) for name in left.__dataclass_fields__)


@pytest.mark.django_db(transaction=True)
def test_the_scan_shared_by_connections_reads_what_this_transaction_sees(monkeypatch, settings):
    """Several connections read the page ranges through one exported snapshot: the same arrays, in
    table order, as one connection; and not a row committed elsewhere after the snapshot was taken."""
    for account in AccountFactory.create_batch(3):
        UsageEventFactory.create_batch(150, account=account, prompt_simhash=12345)  # several pages
    monkeypatch.setattr(event_scan, "_PAGES", 1)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")  # as a detection run does
        settings.DETECTION_SCAN_CONNECTIONS = 1
        alone = event_scan.scan_events()  # the snapshot is taken here (repeatable read)
        with psycopg.connect(**connection.get_connection_params(), autocommit=True) as other:
            other.execute(
                f"INSERT INTO {UsageEvent._meta.db_table} (event_id, account_id, ts, api_key_id, user_agent, ja4, model, "
                "category, system_prompt_sha256, tools_sha256, prompt_excerpt) "
                "VALUES ('evt_late', %s, now(), '', '', '', '', 'chat', '', '', '')",
                [Account.objects.values_list("pk", flat=True).first()],
            )
        settings.DETECTION_SCAN_CONNECTIONS = 3
        shared = event_scan.scan_events()
    assert len(alone.account) == 450
    assert _arrays_equal(alone, shared)
    assert len(event_scan.scan_events().account) == 451  # a new transaction sees it
