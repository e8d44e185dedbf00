"""Delivery to a real HTTP gateway by a real Celery worker: outages, crashes, order, signatures."""

from __future__ import annotations

import time

import pytest

from investigations.enforcement import services
from investigations.enforcement.models import EnforcementChange
from tests.accounts.factories import AccountFactory
from tests.enforcement.factories import make_case
from tests.enforcement.gateway import SECRET, FakeGateway, running_gateway

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def gateway_env(monkeypatch):
    """Point the worker (a separate process, configured from its environment) at the fake gateway."""

    def configure(gateway: FakeGateway) -> None:
        monkeypatch.setenv("ENFORCEMENT_WEBHOOK_URL", gateway.url)
        monkeypatch.setenv("ENFORCEMENT_WEBHOOK_SECRET", SECRET)
        monkeypatch.setenv("ENFORCEMENT_RETRY_BASE_MS", "100")
        monkeypatch.setenv("ENFORCEMENT_RETRY_MAX_MS", "400")
        monkeypatch.setenv("ENFORCEMENT_DELIVERY_LEASE_SECONDS", "2")

    return configure


def wait_until(condition, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError("timed out waiting")


def all_delivered() -> bool:
    return not EnforcementChange.objects.exclude(delivery_state="delivered").exists()


def assert_arrived_once_in_order(gateway: FakeGateway) -> None:
    changes = list(EnforcementChange.objects.select_related("account").order_by("pk"))
    effective = gateway.effective()
    assert set(effective) == {str(c.idempotency_key) for c in changes}
    assert all(r.signature_ok for r in gateway.accepted)
    # Duplicates (re-sends after a crash) carry the same key and the same content.
    for received in gateway.accepted:
        assert received.payload == effective[received.key].payload
    # First arrival order per account follows the account's sequence.
    first_seen: dict[str, list[int]] = {}
    seen: set[str] = set()
    for received in gateway.accepted:
        if received.key not in seen:
            seen.add(received.key)
            first_seen.setdefault(received.payload["account_id"], []).append(received.payload["sequence"])
    assert all(seqs == sorted(seqs) for seqs in first_seen.values())


def test_changes_reach_a_gateway_that_is_down_at_first(celery_worker, gateway_env, analyst):
    accounts = AccountFactory.create_batch(3)
    names = [a.account_id for a in accounts]
    with running_gateway(FakeGateway(down_for=3)) as gateway:
        gateway_env(gateway)
        celery_worker(queues=["enforcement"])
        services.action_request(actor=analyst, kind="ban", reason="hydra", accounts=names)
        services.action_request(actor=analyst, kind="unban", reason="appeal won", accounts=names[:1])
        services.action_request(actor=analyst, kind="ban", reason="again", accounts=names[:1])
        wait_until(all_delivered)
        assert gateway.requests > len(gateway.accepted)  # the outage was real
        assert_arrived_once_in_order(gateway)
        sequence = [r.payload["action"] for r in gateway.accepted if r.payload["account_id"] == names[0]]
        assert sequence == ["ban", "unban", "ban"]
        assert EnforcementChange.objects.filter(attempts__gt=1).exists()


def test_a_worker_killed_mid_delivery_loses_nothing(celery_worker, gateway_env, analyst, settings):
    settings.ENFORCEMENT_APPROVAL_THRESHOLD = 10_000
    case = make_case(flagged=120)
    with running_gateway(FakeGateway(delay=0.03)) as gateway:
        gateway_env(gateway)
        worker = celery_worker(queues=["enforcement"])
        services.action_request(actor=analyst, kind="ban", reason="hydra", case=case, scope="flagged")
        wait_until(lambda: len(gateway.accepted) >= 15)
        worker.kill()
        assert len(gateway.effective()) < 120
        celery_worker(queues=["enforcement"])
        wait_until(all_delivered)
        assert_arrived_once_in_order(gateway)
        assert len(gateway.effective()) == 120


@pytest.mark.django_db
def test_a_misconfigured_webhook_url_keeps_changes_pending(analyst, settings):
    from investigations.enforcement import delivery

    settings.ENFORCEMENT_WEBHOOK_URL = "ftp://gateway.internal/hook"
    account = AccountFactory()
    services.action_request(actor=analyst, kind="ban", reason="r", accounts=[account.pk])
    assert delivery.deliver_due().delivered == 0
    assert EnforcementChange.objects.get().delivery_state == "pending"
