"""End to end on the crafted world: one case per operator, traps avoided, legitimate operators score low."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db.models import Max

from accounts.models import UsageEvent
from investigations.detection import services
from investigations.detection.evaluation import evaluate
from investigations.detection.models import AccountLink
from investigations.detection.services import detection_run
from investigations.models import CaseMembership
from tests.detection.scenario import build_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    return build_world()


def _case_accounts() -> dict[int, set[str]]:
    cases: dict[int, set[str]] = {}
    for case_id, account in CaseMembership.objects.values_list("case_id", "account__account_id"):
        cases.setdefault(case_id, set()).add(account)
    return cases


def test_it_opens_one_case_per_operator_and_avoids_the_traps(world):
    detection_run(full=True)
    result = evaluate(truth=world.truth())
    assert result["bcubed_f1"] >= 0.95
    assert result["non_attacker_in_attacker_cases"] == 0
    assert result["auc"] == 1.0
    cases = _case_accounts()
    by_prefix = {frozenset(a.split("_")[1] for a in accts) for accts in cases.values()}
    assert by_prefix == {frozenset({"alpha"}), frozenset({"bravo"}), frozenset({"uni"}), frozenset({"ent"})}


@pytest.mark.django_db(transaction=True)
def test_a_full_run_in_its_own_transaction_scans_alongside_and_finds_the_same_cases():
    """Outside a test's transaction the event scan runs on a second connection: same outcome."""
    world = build_world()
    run = detection_run(full=True)
    assert list(run.stats["timings"])[:3] == ["scope", "stage", "scan"]
    result = evaluate(truth=world.truth())
    assert result["bcubed_f1"] >= 0.95 and result["non_attacker_in_attacker_cases"] == 0
    assert len(_case_accounts()) == 4


@pytest.mark.django_db(transaction=True)
def test_a_batch_run_in_its_own_transaction_finds_what_a_full_run_finds(monkeypatch):
    """Outside a test's transaction, echoes and synchronized activity run on a second connection."""
    world = build_world()
    behaviour_refresh = services._behaviour_refresh
    detection_run(full=True)
    # The next day: operator alpha's accounts replay their prompts, as a batch.
    latest = UsageEvent.objects.aggregate(latest=Max("ts"))["latest"]
    replayed = []
    for event in UsageEvent.objects.filter(account__account_id__contains="alpha").order_by("ts")[:60]:
        event.pk, event.event_id, event.batch_id = None, f"replay_{event.event_id}", 5
        event.ts = latest + timedelta(days=1, seconds=(event.ts - latest).total_seconds() % 3600)
        replayed.append(event)
    UsageEvent.objects.bulk_create(replayed)

    threads: list[str] = []

    def noting_the_thread(**kwargs):
        threads.append(threading.current_thread().name)
        return behaviour_refresh(**kwargs)

    monkeypatch.setattr(services, "_behaviour_refresh", noting_the_thread)
    detection_run(batch_id=5)
    assert len(threads) == 1 and threads[0].startswith("detection-signals")
    replay_day = (latest + timedelta(days=1)).date().isoformat()
    echoes = AccountLink.objects.filter(signal=AccountLink.Signal.PROMPT_ECHO)
    assert any(replay_day in link.detail["days"] for link in echoes)
    links = set(AccountLink.objects.values_list("account_a_id", "account_b_id", "signal", "count"))
    cases = _case_accounts()
    detection_run(full=True)
    assert set(AccountLink.objects.values_list("account_a_id", "account_b_id", "signal", "count")) == links
    assert _case_accounts() == cases
    assert evaluate(truth=world.truth())["bcubed_f1"] >= 0.95
