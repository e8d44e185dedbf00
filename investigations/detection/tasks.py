"""Celery entry points of detection: thin, idempotent (a re-run recomputes the same state)."""

from __future__ import annotations

import logging

from celery import shared_task

from investigations.detection import services

logger = logging.getLogger(__name__)


@shared_task(ignore_result=True, acks_late=True)
def detect_after_batch(batch_id: int) -> None:
    """Run detection for the accounts an ingested batch touched.

    A failure is recorded on its `DetectionRun` row and logged, never raised: in
    embedded mode this runs inside the ingest call, and a detection bug must not
    make a loaded batch look failed. `manage.py detect` re-runs it.
    """
    try:
        services.detection_run(batch_id=batch_id)
    except Exception:
        logger.exception("detection after batch %s failed", batch_id)


@shared_task(ignore_result=True, acks_late=True)
def detect_full() -> None:
    """Recompute everything (after a bulk import, or on demand)."""
    services.detection_run(full=True)
