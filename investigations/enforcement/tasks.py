"""Celery entry points for gateway delivery. Thin: the work and all state live in `delivery`."""

from __future__ import annotations

from typing import Any

from celery import shared_task
from celery.signals import worker_ready

from investigations.enforcement import delivery


@shared_task(ignore_result=True, acks_late=True)
def deliver_changes() -> None:
    """Send what is due to the gateway, then schedule the next pass while anything is undelivered.

    Safe to run any number of times, concurrently too: changes are claimed
    with row locks and leases, so a duplicate message only costs a query.
    """
    run = delivery.deliver_due()
    if deliver_changes.app.conf.task_always_eager:
        return  # In-process mode: a countdown would run at once and loop while the gateway is down.
    if run.more_due:
        deliver_changes.delay()
    elif run.wake_in is not None:
        deliver_changes.apply_async(countdown=run.wake_in + 0.05)


@worker_ready.connect
def _resume_deliveries(**kwargs: Any) -> None:
    """A (re)started worker picks up what a killed one left: leased, retrying or never-sent changes."""
    deliver_changes.delay()
