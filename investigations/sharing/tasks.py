"""Celery entry points of the sharing app: polling partners' TAXII collections (Celery beat)."""

from __future__ import annotations

import logging

from celery import shared_task
from django.utils import timezone

from investigations.sharing import polling
from investigations.sharing.models import Partner
from investigations.sharing.validation import BundleRejected

log = logging.getLogger(__name__)


@shared_task(ignore_result=True)
def poll_partners() -> None:
    """Beat entry: one poll task per active partner with a collection URL."""
    for partner_id in Partner.objects.filter(is_active=True).exclude(poll_url="").values_list("pk", flat=True):
        poll_partner.delay(partner_id)


@shared_task(
    ignore_result=True,
    autoretry_for=(polling.PollFailed,),
    retry_backoff=True,
    max_retries=3,
)
def poll_partner(partner_id: int) -> None:
    """Idempotent: `added_after` moves only after a successful import, and alerts are keyed per indicator+account."""
    partner = Partner.objects.filter(pk=partner_id, is_active=True).exclude(poll_url="").first()
    if partner is None:
        return
    try:
        polling.poll_partner(partner=partner)
    except (BundleRejected, polling.PollFailed) as exc:
        Partner.objects.filter(pk=partner.pk).update(last_polled_at=timezone.now(), last_poll_error=str(exc)[:2000])
        log.warning("poll of partner %s failed: %s", partner.pk, exc)
        if isinstance(exc, polling.PollFailed):
            raise
