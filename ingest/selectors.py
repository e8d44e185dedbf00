"""Reads of the ingest app. Every batch is visible to whoever holds `ingest.view_batch`."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from ingest.models import Batch, RejectedLine

VIEW_PERMISSION = "ingest.view_batch"
UPLOAD_PERMISSION = "investigations.upload_batch"


def _require_view(user: User | AnonymousUser) -> None:
    if not user.has_perm(VIEW_PERMISSION):
        raise PermissionDenied("You may not view batches.")


def batch_list_for_user(*, user: User | AnonymousUser) -> QuerySet[Batch]:
    _require_view(user)
    return Batch.objects.select_related("created_by").order_by("-created_at", "-pk")


def batch_get_for_user(*, user: User | AnonymousUser, batch_id: int) -> Batch:
    _require_view(user)
    return get_object_or_404(Batch.objects.select_related("created_by", "duplicate_of"), pk=batch_id)


def batch_rejected_lines(*, batch: Batch) -> QuerySet[RejectedLine]:
    return RejectedLine.objects.filter(batch=batch).order_by("line_no").only("line_no", "reason")


def batch_summary(batch: Batch) -> dict[str, Any]:
    """The one-object summary the CLI prints with --json (and the API's counts)."""
    return {
        "batch": batch.pk,
        "filename": batch.filename,
        "status": batch.status,
        "accounts": batch.accounts_new,
        "accounts_updated": batch.accounts_updated,
        "alerts": batch.alerts_new,
        "events": batch.events_new,
        "duplicates": batch.duplicates,
        "rejected": batch.rejected,
        "lines": batch.lines_total,
        "duplicate_of": batch.duplicate_of_id,
        "error": batch.error,
        "progress": batch.progress_percent,
    }
