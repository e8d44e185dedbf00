"""The cases list and the case page with its partials and actions."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST
from django_htmx.http import trigger_client_event

from config.http import AuthedHtmxRequest
from investigations import forms
from investigations.models import Case
from investigations.selectors import cases as case_selectors
from investigations.selectors import figures
from investigations.selectors import links as link_selectors
from investigations.services import cases as case_services
from investigations.services import notes as note_services
from investigations.views.common import error_text, form_errors, template_for

PAGE = "investigations/case_detail.html"


@login_required
@permission_required("investigations.view_case", raise_exception=True)
def case_list(request: AuthedHtmxRequest) -> HttpResponse:
    form = forms.CaseFilterForm(request.GET or None, users=case_selectors.assignable_users())
    page = case_selectors.case_page(user=request.user, filters=form.filters(), page_number=request.GET.get("page", 1))
    base_query = request.GET.copy()
    base_query.pop("page", None)
    context = {"form": form, "page": page, "query": form.filters().q, "base_query": base_query.urlencode()}
    return render(request, template_for(request, "investigations/case_list.html", "case-table"), context)


def _header_context(request: AuthedHtmxRequest, case: Case) -> dict:
    return {
        "case": case,
        "status_form": forms.CaseStatusForm(initial={"status": (case.next_statuses or ("",))[0]}),
        "assignable": case_selectors.assignable_users(),
        "can_manage": request.user.has_perm("investigations.manage_case"),
        "alert_summary": case_selectors.case_alert_summary(case=case),
    }


def _members_context(request: AuthedHtmxRequest, case: Case) -> dict:
    sort = request.GET.get("sort", case_selectors.DEFAULT_MEMBER_SORT)
    if sort not in case_selectors.MEMBER_SORTS:
        sort = case_selectors.DEFAULT_MEMBER_SORT
    page, usage = case_selectors.case_member_page(case=case, sort=sort, page_number=request.GET.get("page", 1))
    return {"case": case, "members": page, "usage": usage, "sort": sort}


@login_required
@permission_required("investigations.view_case", raise_exception=True)
def case_detail(request: AuthedHtmxRequest, case_id: int) -> HttpResponse:
    case = case_selectors.case_get_for_user(user=request.user, case_id=case_id)
    links = link_selectors.case_links(case=case)
    can_pii = request.user.has_perm("investigations.view_pii")
    context = {
        **_header_context(request, case),
        **_members_context(request, case),
        "indicators": _masked_indicators(links, can_pii=can_pii)[:50],
        "indicator_total": len(links["indicators"]),
        "can_view_pii": can_pii,
        "prompts": case_selectors.case_prompt_sample(user=request.user, case=case),
        "notes": case_selectors.case_notes(case=case),
        "note_form": forms.NoteForm(),
        "activity": case_selectors.case_activity(case=case),
        "open_cases": [c for c in case_selectors.open_cases_for_picker(user=request.user) if c.pk != case.pk],
    }
    return render(request, PAGE, context)


def _masked_indicators(links: dict, *, can_pii: bool) -> list[dict]:
    return [
        {
            "index": i,
            "signal": s,
            "value": link_selectors.mask_value(s, v, can_view_pii=can_pii),
            "count": n,
            "weight": w,
        }
        for i, (s, v, n, w) in enumerate(links["indicators"])
    ]


@login_required
@permission_required("investigations.view_case", raise_exception=True)
def case_header(request: AuthedHtmxRequest, case_id: int) -> HttpResponse:
    case = case_selectors.case_get_for_user(user=request.user, case_id=case_id)
    return render(request, f"{PAGE}#case-header", _header_context(request, case))


@login_required
@permission_required("investigations.view_case", raise_exception=True)
def case_accounts(request: AuthedHtmxRequest, case_id: int) -> HttpResponse:
    case = case_selectors.case_get_for_user(user=request.user, case_id=case_id)
    return render(request, template_for(request, PAGE, "case-accounts"), _members_context(request, case))


@login_required
@permission_required("investigations.view_case", raise_exception=True)
def case_activity(request: AuthedHtmxRequest, case_id: int) -> HttpResponse:
    case = case_selectors.case_get_for_user(user=request.user, case_id=case_id)
    context = {"case": case, "activity": case_selectors.case_activity(case=case)}
    return render(request, template_for(request, PAGE, "case-activity"), context)


@login_required
@permission_required("investigations.view_case", raise_exception=True)
def case_graph(request: AuthedHtmxRequest, case_id: int) -> HttpResponse:
    """The cluster graph partial (loaded lazily by the case page)."""
    case = case_selectors.case_get_for_user(user=request.user, case_id=case_id)
    graph = figures.case_graph_figure(case=case, can_view_pii=request.user.has_perm("investigations.view_pii"))
    context = {"case": case, "graph_fig": graph["figure"], "graph_meta": graph["meta"]}
    return render(request, f"{PAGE}#case-graph", context)


@login_required
@permission_required("investigations.view_case", raise_exception=True)
def case_graph_node(request: AuthedHtmxRequest, case_id: int) -> HttpResponse:
    """What a click on a graph node shows: one account's links, or the accounts carrying one indicator."""
    case = case_selectors.case_get_for_user(user=request.user, case_id=case_id)
    kind, _, ref = request.GET.get("ref", "").partition(":")
    links = link_selectors.case_links(case=case)
    can_pii = request.user.has_perm("investigations.view_pii")
    context: dict = {"case": case, "kind": kind}
    if kind == "account":
        membership = case_selectors.members_by_account_ids(case=case, account_ids=[ref]).first()
        if membership is None:
            raise Http404("That account is not in this case.")
        context["membership"] = membership
    elif kind == "indicator" and ref.isdigit() and int(ref) < len(links["indicators"]):
        signal, value, count, weight = links["indicators"][int(ref)]
        context["indicator"] = {
            "signal": signal,
            "value": link_selectors.mask_value(signal, value, can_view_pii=can_pii),
            "count": count,
            "weight": weight,
        }
        context["carriers"] = link_selectors.indicator_accounts(links=links, signal=signal, value=value)[:100]
    else:
        raise Http404("Unknown graph node.")
    return render(request, f"{PAGE}#graph-node", context)


@login_required
@permission_required("investigations.view_case", raise_exception=True)
def case_timeline(request: AuthedHtmxRequest, case_id: int) -> HttpResponse:
    """The case's query timeline and hour-of-day heatmap (loaded lazily)."""
    case = case_selectors.case_get_for_user(user=request.user, case_id=case_id)
    figs = figures.case_usage_figures(case=case)
    context = {
        "case": case,
        "has_usage": bool(figs),
        "timeline_fig": figs.get("timeline"),
        "heatmap_fig": figs.get("heatmap"),
        "chart_id": f"case-{case.pk}",
        "timeline_id": f"timeline-data-case-{case.pk}",
        "heatmap_id": f"heatmap-data-case-{case.pk}",
    }
    return render(request, "investigations/_usage_charts.html", context)


# ---- writes ---------------------------------------------------------------------------------


def _after_write(request: AuthedHtmxRequest, case: Case, partial: str, extra: dict | None = None) -> HttpResponse:
    """htmx: the refreshed partial plus a caseUpdated event; otherwise back to the case page."""
    if not request.htmx:
        return redirect(case)
    case = case_selectors.case_get_for_user(user=request.user, case_id=case.pk)
    if partial == "case-header":
        context = _header_context(request, case)
    else:
        context = {"case": case, "notes": case_selectors.case_notes(case=case), "note_form": forms.NoteForm()}
        context["can_manage"] = request.user.has_perm("investigations.manage_case")
    context.update(extra or {})
    response = render(request, f"{PAGE}#{partial}", context)
    return response if context.get("flash_error") else trigger_client_event(response, "caseUpdated")


def _fail(request: AuthedHtmxRequest, case: Case, partial: str, message: str) -> HttpResponse:
    if not request.htmx:
        messages.error(request, message)
        return redirect(case)
    return _after_write(request, case, partial, {"flash_error": message})


@require_POST
@login_required
@permission_required("investigations.manage_case", raise_exception=True)
def case_status(request: AuthedHtmxRequest, case_id: int) -> HttpResponse:
    case = case_selectors.case_get_for_user(user=request.user, case_id=case_id)
    form = forms.CaseStatusForm(request.POST)
    if not form.is_valid():
        return _fail(request, case, "case-header", form_errors(form))
    try:
        case_services.case_change_status(case=case, actor=request.user, **form.cleaned_data)
    except ValidationError as exc:
        return _fail(request, case, "case-header", error_text(exc))
    return _after_write(request, case, "case-header")


@require_POST
@login_required
@permission_required("investigations.manage_case", raise_exception=True)
def case_assign(request: AuthedHtmxRequest, case_id: int) -> HttpResponse:
    case = case_selectors.case_get_for_user(user=request.user, case_id=case_id)
    form = forms.CaseAssignForm(request.POST)
    if not form.is_valid():
        return _fail(request, case, "case-header", form_errors(form))
    try:
        case_services.case_assign(case=case, actor=request.user, **form.cleaned_data)
    except ValidationError as exc:
        return _fail(request, case, "case-header", error_text(exc))
    return _after_write(request, case, "case-header")


@require_POST
@login_required
@permission_required("investigations.manage_case", raise_exception=True)
def case_note_add(request: AuthedHtmxRequest, case_id: int) -> HttpResponse:
    case = case_selectors.case_get_for_user(user=request.user, case_id=case_id)
    form = forms.NoteForm(request.POST)
    if not form.is_valid():
        return _fail(request, case, "case-notes", form_errors(form))
    try:
        note_services.note_add(case=case, author=request.user, body=form.cleaned_data["body"])
    except ValidationError as exc:
        return _fail(request, case, "case-notes", error_text(exc))
    return _after_write(request, case, "case-notes")


@require_POST
@login_required
@permission_required("investigations.manage_case", raise_exception=True)
def case_merge(request: AuthedHtmxRequest, case_id: int) -> HttpResponse:
    """Merge this case into another; the analyst lands on the surviving case."""
    case = case_selectors.case_get_for_user(user=request.user, case_id=case_id)
    form = forms.CaseMergeForm(request.POST)
    if not form.is_valid():
        messages.error(request, form_errors(form))
        return redirect(case)
    try:
        target = case_services.case_merge(
            source=case, target=form.cleaned_data["other"], actor=request.user, reason=form.cleaned_data["reason"]
        )
    except ValidationError as exc:
        messages.error(request, error_text(exc))
        return redirect(case)
    messages.success(request, f"Case #{case.pk} merged into #{target.pk}.")
    return redirect(target)


@require_POST
@login_required
@permission_required("investigations.manage_case", raise_exception=True)
def case_split(request: AuthedHtmxRequest, case_id: int) -> HttpResponse:
    case = case_selectors.case_get_for_user(user=request.user, case_id=case_id)
    form = forms.CaseSplitForm(request.POST)
    if not form.is_valid():
        messages.error(request, form_errors(form))
        return redirect(case)
    try:
        new_case = case_services.case_split(
            case=case,
            account_ids=form.cleaned_data["account"],
            actor=request.user,
            title=form.cleaned_data["title"],
            reason=form.cleaned_data["reason"],
        )
    except ValidationError as exc:
        messages.error(request, error_text(exc))
        return redirect(case)
    messages.success(request, f"Split {len(form.cleaned_data['account'])} accounts off into case #{new_case.pk}.")
    return redirect(new_case)


@require_POST
@login_required
@permission_required("investigations.manage_case", raise_exception=True)
def case_move_account(request: AuthedHtmxRequest, case_id: int) -> HttpResponse:
    case = case_selectors.case_get_for_user(user=request.user, case_id=case_id)
    form = forms.AccountMoveForm(request.POST)
    if not form.is_valid():
        messages.error(request, form_errors(form))
        return redirect(case)
    membership = case_selectors.members_by_account_ids(case=case, account_ids=[form.cleaned_data["account"]]).first()
    if membership is None:
        messages.error(request, f"{form.cleaned_data['account']} is not in case #{case.pk}.")
        return redirect(case)
    try:
        case_services.case_move_account(
            account=membership.account,
            target=form.cleaned_data["target"],
            actor=request.user,
            reason=form.cleaned_data["reason"],
        )
    except ValidationError as exc:
        messages.error(request, error_text(exc))
        return redirect(case)
    messages.success(request, f"Moved {membership.account.account_id} to case #{form.cleaned_data['target'].pk}.")
    return redirect(case)
