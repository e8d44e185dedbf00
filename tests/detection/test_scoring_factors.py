"""Risk score factors on crafted cases (no database): harvesting while hiding scores high, look-alikes low."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from accounts.models import Account
from investigations.detection.models import AccountFeatures
from investigations.detection.scoring import Baseline, _median, baseline_compute, baseline_of, score_case
from tests.accounts.factories import AccountFactory

T0 = datetime(2026, 3, 2, tzinfo=UTC)
BASELINE = Baseline(
    category_mix=(0.45, 0.25, 0.05, 0.1, 0.08, 0.07),
    output_per_account=400_000.0,  # the mean, pulled up by a harvester
    cot_share=0.1,
    median_output_per_account=15_000.0,
    median_output_per_request=600.0,
)
HUMAN = [0] * 7 + [10] * 16 + [0]
ROUND_THE_CLOCK = [10] * 24


def _case(n, *, account, features):
    accounts = [Account(account_id=f"a{i}", **account(i)) for i in range(n)]
    feats = [AccountFeatures(**features(i)) for i in range(n)]
    return accounts, feats


def _score(accounts, feats):
    score, reasons = score_case(accounts=accounts, features=feats, baseline=BASELINE)
    return score, {r["factor"]: r for r in reasons}


def test_a_card_per_account_proxy_pool_and_long_answers_score_high():
    accounts, feats = _case(
        20,
        account=lambda i: {
            "created_at": T0 + timedelta(days=i),
            "tier": "build",
            "verification": "email",
            "payment_fingerprint": f"pp_{i}",
        },
        features=lambda i: {
            "events": 400,
            "output_tokens": 400 * 5000,
            "cot_events": 60,
            "cat_reasoning": 300,
            "cat_chat": 100,
            "hours": ROUND_THE_CLOCK,
            "distinct_ips": 120,
            "distinct_asns": 7,
        },
    )
    score, reasons = _score(accounts, feats)
    assert score >= 0.7
    assert reasons["payment_reuse"]["weight"] > 0 and "a card per account" in reasons["payment_reuse"]["text"]
    assert reasons["harvest_while_hiding"]["weight"] > 0.2
    assert reasons["proxy_rotation"]["weight"] > 0


def test_a_lab_asking_for_reasoning_at_a_students_volume_scores_low():
    accounts, feats = _case(
        30,
        account=lambda i: {
            "created_at": T0 + timedelta(minutes=4 * i),
            "tier": "education",
            "verification": "none" if i % 3 else "institution",
        },
        features=lambda i: {
            "events": 60,
            "output_tokens": 60 * 900,
            "cot_events": 20,
            "cat_reasoning": 25,
            "cat_coding": 15,
            "cat_chat": 20,
            "hours": HUMAN,
            "distinct_ips": 2,
            "distinct_asns": 2,
        },
    )
    score, reasons = _score(accounts, feats)
    assert score < 0.4
    assert reasons["thin_verification"]["weight"] > 0 and reasons["bursty_signups"]["weight"] > 0
    assert reasons["verified_identity"]["weight"] < 0
    assert reasons["harvest_while_hiding"]["weight"] < 0.1


def test_a_pipeline_on_one_card_round_the_clock_with_short_answers_scores_low():
    accounts, feats = _case(
        10,
        account=lambda i: {
            "created_at": T0 + timedelta(seconds=30 * i),
            "tier": "scale",
            "verification": "phone",
            "payment_fingerprint": "corp_card",
        },
        features=lambda i: {
            "events": 1500,
            "output_tokens": 1500 * 300,
            "cot_events": 5,
            "cat_other": 1200,
            "cat_chat": 300,
            "hours": ROUND_THE_CLOCK,
            "distinct_ips": 900,
            "distinct_asns": 1,
        },
    )
    score, reasons = _score(accounts, feats)
    assert score < 0.4
    assert reasons["payment_reuse"]["weight"] == 0 and "openly" in reasons["payment_reuse"]["text"]
    assert reasons["harvest_while_hiding"]["weight"] == 0


def test_volumes_compare_with_the_median_account_not_the_mean():
    assert _median([5.0, 1.0, 1000.0]) == 5.0
    accounts, feats = _case(
        5,
        account=lambda i: {"created_at": T0, "tier": "build", "verification": "email", "payment_fingerprint": "pool_1"},
        features=lambda i: {
            "events": 300,
            "output_tokens": 300 * 4000,
            "cot_events": 0,
            "cat_coding": 300,
            "hours": HUMAN,
        },
    )
    _, reasons = _score(accounts, feats)
    # 1.2M tokens per account is 3x the mean (400k) but 80x the median account (15k): full volume.
    assert reasons["harvested_output"]["value"] == 80.0


def test_the_typical_account_is_taken_from_unflagged_accounts_even_when_a_harvester_holds_most_accounts():
    ordinary = [(10, 10 * 500, 0, False, 8, 2, 0, 0, 0, 0)] * 30
    harvester = [(400, 400 * 8000, 200, True, 0, 0, 0, 400, 0, 0)] * 60
    baseline = baseline_of(ordinary + harvester)
    assert baseline.median_output_per_account == 5000 and baseline.median_output_per_request == 500
    # Each account's mix counts once: 60 reasoning-only harvesters and 30 chatters, not 24,000 vs 300 requests.
    assert round(baseline.category_mix[3], 3) == round(60 / 90, 3)


@pytest.mark.django_db
def test_the_baseline_leaves_out_the_accounts_being_judged():
    people = [AccountFactory() for _ in range(25)]
    heads = [AccountFactory() for _ in range(40)]
    for account in people:
        AccountFeatures.objects.create(account=account, events=10, output_tokens=5000, cat_chat=10, hours=HUMAN)
    for account in heads:
        AccountFeatures.objects.create(account=account, events=400, output_tokens=3_200_000, cat_coding=9, hours=HUMAN)
    assert baseline_compute().median_output_per_account == 3_200_000  # the harvester is the typical account
    judged = baseline_compute(exclude=[a.pk for a in heads])
    assert judged.median_output_per_account == 5000 and judged.category_mix[0] == 1.0
