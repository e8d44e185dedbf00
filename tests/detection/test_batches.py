"""After a batch, detection adds the batch's events to the per-account state: the result must equal a recompute."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection

from accounts.models import Account, UsageEvent
from investigations.detection.models import AccountBatch, AccountFeatures, AccountIndicator, Indicator
from investigations.detection.services import detection_run
from tests.accounts.factories import AccountFactory, UsageEventFactory

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="batches are added on PostgreSQL only"),
]
START = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def _state() -> dict:
    features = {
        f.account_id: (
            f.events, f.input_tokens, f.output_tokens, f.cot_events, f.category_counts, f.hours, f.weekdays,
            f.distinct_ips, f.distinct_asns, f.distinct_keys, f.first_seen, f.last_seen,
        )
        for f in AccountFeatures.objects.all()
    }  # fmt: skip
    rows = set(AccountIndicator.objects.values_list("account_id", "indicator__kind", "indicator__value", "events"))
    counts = set(Indicator.objects.filter(account_count__gt=0).values_list("kind", "value", "account_count"))
    records = set(AccountBatch.objects.values_list("account_id", "batch_id", "events"))
    return {"features": features, "rows": rows, "counts": counts, "records": records}


def _events(account: Account, batch: int, n: int, *, start: datetime, key: str, ip: str) -> None:
    for i in range(n):
        UsageEventFactory(
            account=account,
            batch_id=batch,
            ts=start + timedelta(minutes=97 * i),
            api_key_id=key,
            ip=ip if i % 2 else f"198.51.100.{i % 5}",
            asn=64500 + i % 3,
            cot_requested=i % 3 == 0,
            category=["coding", "reasoning", "chat"][i % 3],
            system_prompt_sha256="ab" * 32,
        )


def test_adding_a_batch_equals_recomputing_and_a_retried_or_grown_batch_stays_exact():
    old, other = AccountFactory(payment_fingerprint="pf_shared"), AccountFactory(payment_fingerprint="pf_shared")
    _events(old, 1, 6, start=START, key="key_a", ip="203.0.113.1")
    _events(other, 1, 3, start=START, key="key_b", ip="203.0.113.2")
    detection_run(full=True)

    # Batch 2: more traffic from `old` (a new key, a new IP), a new account, and a profile change.
    new = AccountFactory(payment_fingerprint="pf_shared")
    _events(old, 2, 5, start=START + timedelta(days=3), key="key_c", ip="203.0.113.9")
    _events(old, 2, 2, start=START + timedelta(days=5), key="key_a", ip="203.0.113.1")  # known key and IP
    _events(new, 2, 4, start=START + timedelta(days=3), key="key_a", ip="203.0.113.1")
    Account.objects.filter(pk=other.pk).update(  # as ingest applies a snapshot: fields versioned with their batch
        payment_fingerprint="pf_other",
        email="x7@else.example",
        snapshot_batch_id=2,
        snapshot_versions={"payment_fingerprint": [2, 1], "email": [2, 1]},
    )
    run = detection_run(batch_id=2)
    assert run.stats["batch_accounts_added"] == 2
    assert detection_run(batch_id=2).stats["batch_accounts_added"] == 0  # a retried run adds nothing twice
    # Batch 2 grows after it was detected (it was still loading): those accounts are recomputed.
    _events(new, 2, 2, start=START + timedelta(days=4), key="key_d", ip="203.0.113.5")
    assert detection_run(batch_id=2).stats["batch_accounts_recomputed"] == 1
    added = _state()

    detection_run(full=True)
    assert _state() == added
    assert AccountFeatures.objects.get(account=old).distinct_keys == 2
    assert Indicator.objects.get(kind="payment", value="pf_shared").account_count == 2


def _versions(table: str, key: str) -> dict:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {key}, xmin::text FROM {table}")
        return {row[:-1]: row[-1] for row in cursor.fetchall()}


def test_a_full_run_rewrites_only_the_features_and_records_that_changed():
    a, b, c, quiet = (AccountFactory() for _ in range(4))
    _events(a, 1, 3, start=START, key="key_a", ip="203.0.113.1")
    _events(b, 1, 2, start=START, key="key_b", ip="203.0.113.2")
    _events(quiet, 1, 2, start=START, key="key_q", ip="203.0.113.3")
    UsageEventFactory(account=quiet, ts=START, batch_id=None)  # loaded outside any batch
    detection_run(full=True)
    features = _versions("detection_accountfeatures", "account_id")
    records = _versions("detection_accountbatch", "account_id, batch_id")

    _events(a, 2, 2, start=START + timedelta(days=1), key="key_a", ip="203.0.113.1")
    UsageEvent.objects.filter(account=b, batch_id=1).delete()
    _events(b, 3, 1, start=START, key="key_b", ip="203.0.113.2")
    _events(c, 3, 1, start=START, key="key_c", ip="203.0.113.4")
    detection_run(full=True)
    after = _state()
    assert _versions("detection_accountfeatures", "account_id")[(quiet.pk,)] == features[(quiet.pk,)]
    now = _versions("detection_accountbatch", "account_id, batch_id")
    assert now[(quiet.pk, 1)] == records[(quiet.pk, 1)] and now[(quiet.pk, None)] == records[(quiet.pk, None)]
    assert (b.pk, 1) not in now and {(a.pk, 2), (b.pk, 3), (c.pk, 3)} <= set(now)

    # And the same state as derived from nothing.
    AccountFeatures.objects.all().delete()
    AccountBatch.objects.all().delete()
    AccountIndicator.objects.all().delete()
    detection_run(full=True)
    assert _state() == after
