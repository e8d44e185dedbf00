"""Background work of the dashboard: keeping case figures warm after detection changes cases."""

from __future__ import annotations

from celery import shared_task

from config.celery import CeleryQueue
from investigations.services.figures import figures_refresh


@shared_task(queue=CeleryQueue.DEFAULT, ignore_result=True)
def figures_refresh_task(case_ids: list[int]) -> int:
    """Precompute the stored figures of these cases (see `services.figures.figures_refresh`)."""
    return figures_refresh(case_ids)
