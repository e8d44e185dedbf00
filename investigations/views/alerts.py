"""The alert queue: filter, sort, page, select, triage."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseClientRedirect, trigger_client_event

from config.http import AuthedHtmxRequest
from investigations import forms
from investigations.models import Alert
from investigations.selectors import alerts as alert_selectors
from investigations.selectors import cases as case_selectors
from investigations.services import alerts as alert_services
from investigations.views.common import error_text, form_errors, template_for

FILTER_FIELDS = ("detector", "severity", "status", "account", "score_min", "score_max", "date_from", "date_to", "sort")


def _filter_query(data: dict[str, str]) -> str:
    return urlencode({k: v for k, v in data.items() if k in FILTER_FIELDS and v})


def _queue_context(request: AuthedHtmxRequest, data: dict[str, str]) -> dict:
    form = forms.AlertFilterForm(data or None, detectors=alert_selectors.detector_names())
    if form.is_bound:
        form.is_valid()
    filters = form.filters()
    can_triage = request.user.has_perm("investigations.triage_alert")
    page = alert_selectors.alert_page(
        user=request.user, filters=filters, sort=form.sort_key(), page_number=data.get("page", 1)
    )
    return {
        "form": form,
        "page": page,
        "sort": form.sort_key(),
        "filter_query": _filter_query(data),
        "sort_base": urlencode({k: v for k, v in data.items() if k in FILTER_FIELDS and k != "sort" and v}),
        "filter_items": [(k, v) for k, v in data.items() if k in FILTER_FIELDS and v],
        "open_cases": case_selectors.open_cases_for_picker(user=request.user),
        "can_triage": can_triage,
        "max_id": alert_selectors.alert_max_id() if can_triage else 0,
    }


@login_required
@permission_required("investigations.view_alert", raise_exception=True)
def alert_list(request: AuthedHtmxRequest) -> HttpResponse:
    context = _queue_context(request, request.GET.dict())
    return render(request, template_for(request, "investigations/alert_list.html", "alert-table"), context)


@require_POST
@login_required
@permission_required("investigations.triage_alert", raise_exception=True)
def alert_bulk(request: AuthedHtmxRequest) -> HttpResponse:
    """Apply one triage action to the ticked alerts, or to every alert matching the carried filter."""
    filter_data = {k: v for k, v in request.POST.items() if k in FILTER_FIELDS}
    back = reverse("alert-list") + ("?" + _filter_query(filter_data) if _filter_query(filter_data) else "")
    form = forms.AlertBulkForm(request.POST)
    if not form.is_valid():
        return _respond(request, filter_data, back, error=form_errors(form))
    data = form.cleaned_data
    if data["select_all"]:
        filter_form = forms.AlertFilterForm(filter_data or None, detectors=alert_selectors.detector_names())
        if filter_form.is_bound and not filter_form.is_valid():
            return _respond(request, filter_data, back, error="Fix the filter before acting on every match.")
        # Only alerts that existed when the page was rendered: new ones were not in the count the analyst saw.
        alerts = alert_selectors.alert_filter(user=request.user, filters=filter_form.filters()).filter(
            id__lte=data["max_id"]
        )
    else:
        alerts = Alert.objects.filter(pk__in=[a.pk for a in data["alert"]])
    reason = data.get("reason") or ""
    try:
        if data["action"] == "acknowledge":
            n = alert_services.alerts_acknowledge(alerts=alerts, actor=request.user, reason=reason)
            text = f"Acknowledged {n} alert{'s' if n != 1 else ''}."
        elif data["action"] == "dismiss":
            n = alert_services.alerts_dismiss(alerts=alerts, actor=request.user, reason=reason)
            text = f"Dismissed {n} alert{'s' if n != 1 else ''}."
        elif data["action"] == "attach":
            result = alert_services.alerts_attach_to_case(
                alerts=alerts, case=data["case"], actor=request.user, reason=reason
            )
            text = _attach_text(result)
        else:
            result = alert_services.case_open_from_alerts(
                alerts=alerts, actor=request.user, title=data["title"], reason=reason
            )
            messages.success(request, f"Opened case #{result.case.pk}. " + _attach_text(result))
            url = result.case.get_absolute_url()
            return HttpResponseClientRedirect(url) if request.htmx else redirect(url)
    except ValidationError as exc:
        return _respond(request, filter_data, back, error=error_text(exc))
    return _respond(request, filter_data, back, success=text)


def _attach_text(result: alert_services.AttachResult) -> str:
    text = f"Attached {result.alerts} alert{'s' if result.alerts != 1 else ''} to case #{result.case.pk}"
    text += f"; {len(result.accounts_added)} account{'s' if len(result.accounts_added) != 1 else ''} added."
    if result.accounts_in_other_cases:
        n = len(result.accounts_in_other_cases)
        text += f" {n} already in other cases stayed there (move them from the case page)."
    return text


def _respond(
    request: AuthedHtmxRequest, filter_data: dict[str, str], back: str, *, error: str = "", success: str = ""
) -> HttpResponse:
    if not request.htmx:
        if error:
            messages.error(request, error)
        else:
            messages.success(request, success)
        return redirect(back)
    context = _queue_context(request, filter_data)
    context.update(flash_error=error, flash_success=success)
    response = render(request, "investigations/alert_list.html#alert-table", context)
    return response if error else trigger_client_event(response, "alertsUpdated")
