"""Upload page, batch list and the batch page with its polling progress partial."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods
from django_htmx.http import HttpResponseStopPolling

from config.http import AuthedHtmxRequest
from ingest import forms, selectors, services
from ingest.models import Batch

REJECTED_PER_PAGE = 50
BATCHES_PER_PAGE = 25


@require_http_methods(["GET", "POST"])
@login_required
def batch_list(request: AuthedHtmxRequest) -> HttpResponse:
    """Recent batches, and the upload form for those allowed to upload."""
    batches = selectors.batch_list_for_user(user=request.user)
    can_upload = request.user.has_perm(selectors.UPLOAD_PERMISSION)
    form = forms.BatchUploadForm()
    if request.method == "POST":
        if not can_upload:
            return HttpResponse("You may not upload batches.", status=403)
        form = forms.BatchUploadForm(request.POST, request.FILES)
        if form.is_valid():
            batch = services.batch_create(
                source=Batch.Source.UPLOAD,
                actor=request.user,
                upload=form.cleaned_data["file"],
                ip=request.META.get("REMOTE_ADDR"),
            )
            messages.success(request, f"Batch {batch.pk} received: {batch.filename}.")
            return redirect(batch)
    page = Paginator(batches, BATCHES_PER_PAGE).get_page(request.GET.get("page"))
    template = "ingest/batch_list.html"
    if request.htmx and not request.htmx.boosted and request.method == "GET":
        template += "#batch-table"
    status = 400 if request.method == "POST" else 200
    return render(request, template, {"page": page, "form": form, "can_upload": can_upload}, status=status)


@require_http_methods(["GET"])
@login_required
def batch_detail(request: AuthedHtmxRequest, batch_id: int) -> HttpResponse:
    """The batch page; htmx asks it for the status partial (polling) or a page of rejected lines."""
    batch = selectors.batch_get_for_user(user=request.user, batch_id=batch_id)
    rejected = Paginator(selectors.batch_rejected_lines(batch=batch), REJECTED_PER_PAGE).get_page(
        request.GET.get("page")
    )
    context = {"batch": batch, "rejected": rejected}
    if request.htmx and not request.htmx.boosted:
        if request.htmx.target == "rejected-table":
            return render(request, "ingest/batch_detail.html#rejected-table", context)
        response = render(request, "ingest/batch_detail.html#batch-status", context)
        if batch.is_finished:
            # 286 makes htmx swap this last version in and stop polling.
            response.status_code = HttpResponseStopPolling.status_code
        return response
    return render(request, "ingest/batch_detail.html", context)
