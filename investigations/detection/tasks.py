"""Celery entry points of detection: thin, idempotent (a re-run recomputes the same state)."""

from __future__ import annotations

from celery import shared_task

from config.celery import CeleryQueue
from investigations.detection import services


@shared_task(queue=CeleryQueue.DETECTION, ignore_result=True, acks_late=True)
def detect_after_batch(batch_id: int) -> None:
    """Run detection for the accounts an ingested batch touched."""
    services.detection_run(batch_id=batch_id)


@shared_task(queue=CeleryQueue.DETECTION, ignore_result=True, acks_late=True)
def detect_full() -> None:
    """Recompute everything (after a bulk import, or on demand)."""
    services.detection_run(full=True)
