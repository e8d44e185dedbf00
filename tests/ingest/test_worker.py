"""The pipeline on real Celery workers (Redis broker, PostgreSQL), including a worker killed mid-batch."""

from __future__ import annotations

import time

import pytest

from accounts.models import UsageEvent
from config.celery import CeleryQueue
from ingest import services
from ingest.models import Batch, BatchChunk
from investigations.models import Alert
from tests.ingest.conftest import account, alert, event

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def records(n_events: int, *, dup_every: int = 100) -> list[dict]:
    """n_events distinct events over 20 accounts, an alert per account, and a repeat every `dup_every` lines."""
    out: list[dict] = [account(f"acct_{i}", tier="free") for i in range(10)]
    for i in range(n_events):
        out.append(event(f"evt_{i}", account_id=f"acct_{i % 20}", input_tokens=i))
        if i and i % dup_every == 0:
            out.append(event(f"evt_{i - 50}", account_id=f"acct_{(i - 50) % 20}"))
    out += [alert(f"alrt_{i}", account_id=f"acct_{i}") for i in range(20)]
    return out


def wait_for(predicate, timeout: float = 60, interval: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise AssertionError("timed out")


def finished(batch_id: int) -> bool:
    return Batch.objects.get(pk=batch_id).status in Batch.FINISHED


def test_two_workers_load_a_batch_in_parallel(celery_worker, batch_file):
    celery_worker(queues=[CeleryQueue.INGEST], concurrency=2)
    path = batch_file(records(2000))
    batch = services.batch_create(source=Batch.Source.CLI, actor=None, path=path, chunk_lines=200)
    wait_for(lambda: finished(batch.pk))
    batch.refresh_from_db()
    assert batch.status == Batch.Status.DONE, batch.error
    assert (batch.accounts_new, batch.alerts_new, batch.events_new, batch.duplicates) == (20, 20, 2000, 19)
    assert batch.chunks_done == batch.chunks_total > 5
    assert UsageEvent.objects.count() == 2000 and Alert.objects.count() == 20


def test_a_killed_worker_leaves_a_batch_that_resume_completes_exactly(celery_worker, batch_file):
    worker = celery_worker(queues=[CeleryQueue.INGEST], concurrency=1)
    path = batch_file(records(6000))
    batch = services.batch_create(source=Batch.Source.CLI, actor=None, path=path, chunk_lines=40, copy=False)
    wait_for(lambda: Batch.objects.get(pk=batch.pk).chunks_done >= 3, timeout=60, interval=0.01)
    worker.kill()  # SIGKILL, mid-batch: one chunk was in flight

    batch.refresh_from_db()
    assert batch.status == Batch.Status.LOADING and 3 <= batch.chunks_done < batch.chunks_total
    # Whatever committed is whole chunks: rows and counts agree.
    done_events = sum(BatchChunk.objects.filter(batch=batch, status="done").values_list("events_new", flat=True))
    assert UsageEvent.objects.count() == done_events == batch.events_new

    celery_worker(queues=[CeleryQueue.INGEST], concurrency=1)
    assert services.batch_resume(batch_id=batch.pk) >= 1
    wait_for(lambda: finished(batch.pk), timeout=120)
    batch.refresh_from_db()
    assert batch.status == Batch.Status.DONE, batch.error
    assert (batch.accounts_new, batch.alerts_new, batch.events_new, batch.duplicates, batch.rejected) == (
        20, 20, 6000, 59, 0,
    )  # fmt: skip
    assert UsageEvent.objects.count() == 6000 and Alert.objects.count() == 20
