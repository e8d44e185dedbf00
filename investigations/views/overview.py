"""The overview: what needs attention now."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render

from config.http import AuthedHtmxRequest
from investigations import charts
from investigations.selectors import overview as overview_selectors
from investigations.selectors.usage import tz_label
from investigations.views.common import figure_data, template_for


@login_required
def overview(request: AuthedHtmxRequest) -> HttpResponse:
    user = request.user
    usage = overview_selectors.usage_by_case(user=user)
    context = {
        "by_risk": overview_selectors.open_cases_by_risk(user=user),
        "alerts_today": overview_selectors.new_alerts_today(user=user),
        "batches": overview_selectors.batches_in_progress(user=user),
        "has_usage": bool(usage["daily"]),
        "volume_fig": figure_data(charts.volume_by_risk(usage["daily"], usage["cases"])),
        "tokens_fig": figure_data(charts.tokens_by_operator(usage["daily"], usage["cases"])),
        "tz_name": tz_label(),
    }
    return render(request, "investigations/overview.html", context)


@login_required
def overview_batches(request: AuthedHtmxRequest) -> HttpResponse:
    """The ingesting-batches panel alone, polled while batches are in progress."""
    batches = overview_selectors.batches_in_progress(user=request.user)
    response = render(
        request, template_for(request, "investigations/overview.html", "batch-progress"), {"batches": batches}
    )
    if request.htmx and not batches:
        response.status_code = 286  # htmx: stop polling, nothing is ingesting
    return response
