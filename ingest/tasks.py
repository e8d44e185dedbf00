"""Celery entry points of the pipeline: thin, idempotent, retried on transient database errors."""

from __future__ import annotations

from celery import shared_task
from django.db import InterfaceError, OperationalError, connection

from ingest import services

# A dropped connection or a restarting database: the transaction rolled back, so retrying is safe.
TRANSIENT = (OperationalError, InterfaceError)
_RETRY = {"autoretry_for": TRANSIENT, "retry_backoff": 2, "retry_backoff_max": 60, "max_retries": 8}


def _close_broken_connection() -> None:
    """A retry must not reuse a connection the server has dropped."""
    connection.close_if_unusable_or_obsolete()


@shared_task(ignore_result=True, acks_late=True, **_RETRY)
def ingest_batch_split(batch_id: int) -> None:
    try:
        services.batch_split(batch_id=batch_id)
    except TRANSIENT:
        _close_broken_connection()
        raise


@shared_task(ignore_result=True, acks_late=True, **_RETRY)
def ingest_chunk_load(chunk_id: int) -> None:
    try:
        services.chunk_load(chunk_id=chunk_id)
    except TRANSIENT:
        _close_broken_connection()
        raise


@shared_task(ignore_result=True)
def ingest_resume_stale() -> None:
    """Periodic sweeper (CELERY_BEAT_SCHEDULE): resume batches a dead worker left behind."""
    services.batches_resume_stale()
