"""Background work of the dashboard: keeping case figures warm after detection changes cases."""

from __future__ import annotations

from celery import shared_task

from investigations.services.figures import figures_refresh


@shared_task(ignore_result=True)
def figures_refresh_task(case_ids: list[int]) -> int:
    """Precompute the stored figures of these cases (see `services.figures.figures_refresh`)."""
    return figures_refresh(case_ids)
