"""After a batch, detection adds the batch's events to the per-account state: the result must equal a recompute."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection

from accounts.models import Account
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
