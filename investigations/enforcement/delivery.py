"""Delivery of enforcement changes to the API gateway's webhook: signed, retried, in order per account.

The outbox rows (`EnforcementChange`) are the only state. A worker claims the
changes that are due (an account's oldest undelivered change only, so each
account's changes arrive in order), leases them, POSTs each one and records
the outcome. A worker killed mid-delivery leaves leased rows behind; once the
lease expires any worker sends them again with the same idempotency key, so
the gateway sees every change exactly once in effect.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import logging
import time
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, F, Min, OuterRef, Q
from django.utils import timezone

from investigations.enforcement.models import EnforcementChange

logger = logging.getLogger(__name__)
SIGNATURE_HEADER = "X-HydraWatch-Signature"
IDEMPOTENCY_HEADER = "Idempotency-Key"
Delivery = EnforcementChange.Delivery


def sign(body: bytes, secret: str) -> str:
    """The signature header value: HMAC-SHA256 over the exact body bytes."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def change_payload(change: EnforcementChange) -> dict[str, object]:
    """What the gateway receives for one change (also what the polling API returns).

    Identifiers and times only. The analyst's free-text reason stays in the app: it may hold e-mails or
    prompt excerpts, and personal data never leaves in clear. A gateway operator who needs the why
    follows `action_id` / `case_id` into Hydra Watch, where access is logged.
    """
    return {
        "id": change.pk,
        "idempotency_key": str(change.idempotency_key),
        "account_id": change.account.account_id,
        "sequence": change.account_seq,
        "action": change.kind,
        "enforcement": change.after,
        "previous": change.before,
        "action_id": change.action_id,
        "case_id": change.action.case_id,
        "requested_at": change.action.requested_at.isoformat(),
        "changed_at": change.created_at.isoformat(),
    }


def retry_delay(attempts: int) -> timedelta:
    """Exponential backoff: BASE, 2*BASE, 4*BASE... capped at MAX."""
    base = settings.ENFORCEMENT_RETRY_BASE_MS
    delay_ms = min(base * 2 ** max(attempts - 1, 0), settings.ENFORCEMENT_RETRY_MAX_MS)
    return timedelta(milliseconds=delay_ms)


class GatewayClient:
    """POSTs JSON to the webhook over one reused connection (1,500 deliveries need no 1,500 handshakes)."""

    def __init__(self, url: str, *, secret: str, timeout: float) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"ENFORCEMENT_WEBHOOK_URL must be an http(s) URL, got {url!r}")
        self._path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        conn_class = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        self._conn = conn_class(parts.hostname, parts.port, timeout=timeout)
        self._secret = secret

    def post(self, payload: dict[str, object], idempotency_key: str) -> str:
        """Send one change; '' on a 2xx answer, otherwise a short description of the failure."""
        body = json.dumps(payload, separators=(",", ":")).encode()
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(body, self._secret),
            IDEMPOTENCY_HEADER: idempotency_key,
        }
        try:
            self._conn.request("POST", self._path, body=body, headers=headers)
            response = self._conn.getresponse()
            detail = response.read(200).decode(errors="replace")
            if response.will_close:
                self._conn.close()
        except (OSError, http.client.HTTPException) as exc:
            self._conn.close()
            return f"{type(exc).__name__}: {exc}"[:500]
        if 200 <= response.status < 300:
            return ""
        return f"HTTP {response.status} {response.reason}: {detail}"[:500]

    def close(self) -> None:
        self._conn.close()


@dataclass
class DeliveryRun:
    """What one pass of the worker did, and when the next pass is needed (seconds, or None)."""

    delivered: int = 0
    failed: int = 0
    more_due: bool = False
    wake_in: float | None = None


def _heads() -> Q:
    """An account's oldest undelivered change: the only one of its changes that may be sent now."""
    earlier = EnforcementChange.objects.filter(account_id=OuterRef("account_id"), pk__lt=OuterRef("pk")).exclude(
        delivery_state=Delivery.DELIVERED
    )
    return ~Q(delivery_state=Delivery.DELIVERED) & Q(~Exists(earlier))


def _claim(limit: int) -> list[EnforcementChange]:
    """Lease up to `limit` due heads; rows another worker holds are skipped, not waited for."""
    now = timezone.now()
    due = Q(delivery_state__in=[Delivery.PENDING, Delivery.FAILED], next_attempt_at__lte=now) | Q(
        delivery_state=Delivery.SENDING, lease_until__lte=now
    )
    with transaction.atomic():
        ids = list(
            EnforcementChange.objects.filter(_heads() & due)
            .order_by("pk")
            .select_for_update(skip_locked=True)
            .values_list("pk", flat=True)[:limit]
        )
        lease = now + timedelta(seconds=settings.ENFORCEMENT_DELIVERY_LEASE_SECONDS)
        EnforcementChange.objects.filter(pk__in=ids).update(delivery_state=Delivery.SENDING, lease_until=lease)
    return list(EnforcementChange.objects.filter(pk__in=ids).select_related("account", "action").order_by("pk"))


def _next_wake() -> float | None:
    """Seconds until the earliest retry or lease expiry among undelivered heads; None when all is delivered."""
    heads = EnforcementChange.objects.filter(_heads())
    times = heads.aggregate(
        retry=Min("next_attempt_at", filter=~Q(delivery_state=Delivery.SENDING)),
        lease=Min("lease_until", filter=Q(delivery_state=Delivery.SENDING)),
    )
    candidates = [t for t in times.values() if t is not None]
    if not candidates:
        return None
    return max((min(candidates) - timezone.now()).total_seconds(), 0.0)


# Small enough that a batch is sent well within its lease even when the gateway answers slowly.
BATCH_SIZE = 100


def deliver_due(*, batch_size: int = BATCH_SIZE, budget_seconds: float = 20.0) -> DeliveryRun:
    """Send every due change, batch by batch, until none is due, the gateway fails, or the budget is spent.

    On the first failure the gateway is taken to be down: the failed change
    backs off exponentially and the rest of the batch waits with it, so an
    outage costs one request per retry, not one per change.
    """
    run = DeliveryRun()
    if not settings.ENFORCEMENT_WEBHOOK_URL:
        return run  # Nothing to push to; gateways poll /api/v1/enforcement/changes/ instead.
    try:
        client = GatewayClient(
            settings.ENFORCEMENT_WEBHOOK_URL,
            secret=settings.ENFORCEMENT_WEBHOOK_SECRET,
            timeout=settings.ENFORCEMENT_WEBHOOK_TIMEOUT_SECONDS,
        )
    except ValueError:
        # A misconfiguration, not an outage: the changes stay pending (and pollable) until it is fixed.
        logger.exception("Gateway delivery is off")
        return run
    deadline = time.monotonic() + budget_seconds
    try:
        while True:
            batch = _claim(batch_size)
            if not batch:
                break
            if not _send_batch(client, batch, run):
                break
            if time.monotonic() > deadline:
                run.more_due = True
                break
    finally:
        client.close()
    if not run.more_due:
        run.wake_in = _next_wake()
    return run


def _send_batch(client: GatewayClient, batch: list[EnforcementChange], run: DeliveryRun) -> bool:
    """POST each change of the batch; False once the gateway failed (the rest is released to retry)."""
    delivered: list[int] = []
    try:
        for index, change in enumerate(batch):
            error = client.post(change_payload(change), str(change.idempotency_key))
            if not error:
                delivered.append(change.pk)
                continue
            attempts = change.attempts + 1
            retry_at = timezone.now() + retry_delay(attempts)
            EnforcementChange.objects.filter(pk=change.pk).update(
                delivery_state=Delivery.FAILED,
                attempts=attempts,
                last_error=error,
                next_attempt_at=retry_at,
                lease_until=None,
            )
            untried = [c.pk for c in batch[index + 1 :]]
            EnforcementChange.objects.filter(pk__in=untried).update(
                delivery_state=Delivery.PENDING, next_attempt_at=retry_at, lease_until=None
            )
            run.failed += 1
            return False
        return True
    finally:
        # Recorded even when the worker is interrupted between requests: fewer re-sends after a crash.
        _mark_delivered(delivered)
        run.delivered += len(delivered)


def _mark_delivered(ids: list[int]) -> None:
    if not ids:
        return
    EnforcementChange.objects.filter(pk__in=ids).update(
        delivery_state=Delivery.DELIVERED,
        delivered_at=timezone.now(),
        attempts=F("attempts") + 1,
        last_error="",
        lease_until=None,
    )
