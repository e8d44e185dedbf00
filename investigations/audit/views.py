"""The audit log page: browse and filter every recorded state change; export the filtered rows as CSV."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from datetime import UTC

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from config.http import AuthedHtmxRequest
from investigations.audit import selectors, services
from investigations.audit.forms import AuditFilterForm
from investigations.models import AuditEntry

PER_PAGE = 50
CSV_HEADER = ["time_utc", "actor", "action", "object_type", "object_id", "object", "reason", "before", "after", "ip"]


def _filters(request: AuthedHtmxRequest) -> tuple[AuditFilterForm, selectors.AuditFilters]:
    form = AuditFilterForm(request.GET or None)
    if form.is_bound and form.is_valid():
        return form, selectors.AuditFilters(**{k: v for k, v in form.cleaned_data.items() if v})
    return form, selectors.AuditFilters()


@require_GET
@login_required
def audit_list(request: AuthedHtmxRequest) -> HttpResponse:
    form, filters = _filters(request)
    entries = selectors.audit_entries_for_user(user=request.user, filters=filters).select_related("actor")
    page = Paginator(entries, PER_PAGE).get_page(request.GET.get("page"))
    # Before/after shown as JSON, as exported, rather than Python's dict repr.
    rows = [(e, _json(e.before), _json(e.after)) for e in page.object_list]
    query = request.GET.copy()
    query.pop("page", None)
    template = "audit/entry_list.html"
    if request.htmx and not request.htmx.boosted:
        template += "#audit-table"
    context = {
        "form": form,
        "page": page,
        "rows": rows,
        "query": query.urlencode(),
        "actions": selectors.audit_action_names(user=request.user),
    }
    return render(request, template, context)


def _json(value: object) -> str:
    return "" if value is None else json.dumps(value, sort_keys=True)


class _Echo:
    """csv.writer target that hands each line back instead of buffering the file."""

    def write(self, value: str) -> str:
        return value


def _cell(value: str) -> str:
    """Neutralise spreadsheet formulas (CSV injection): a leading = + - @ becomes text."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def _csv_lines(entries: Iterator[AuditEntry]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow(CSV_HEADER)
    for e in entries:
        row = [
            e.created_at.astimezone(UTC).isoformat(),
            e.actor_name,
            e.action,
            e.object_type,
            e.object_id,
            e.object_repr,
            e.reason,
            _json(e.before),
            _json(e.after),
            e.ip or "",
        ]
        yield writer.writerow([_cell(str(v)) for v in row])


@require_GET
@login_required
def audit_export(request: AuthedHtmxRequest) -> StreamingHttpResponse:
    """Stream the filtered log as CSV (any size, constant memory); the export is audited first."""
    form, filters = _filters(request)
    entries = selectors.audit_entries_for_user(user=request.user, filters=filters)
    services.audit_export_record(
        actor=request.user, filters=filters, rows=entries.count(), ip=request.META.get("REMOTE_ADDR")
    )
    response = StreamingHttpResponse(_csv_lines(entries.iterator(chunk_size=2000)), content_type="text/csv")
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    response["Content-Disposition"] = f'attachment; filename="hydra-watch-audit-{stamp}.csv"'
    return response
