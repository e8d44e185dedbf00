"""Enforcement pages: the ban form and action list, an action's accounts and delivery, the approval queue,
and the htmx fragments other pages embed (ban controls, an account's enforcement history)."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import BadRequest
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseStopPolling, trigger_client_event

from config.http import AuthedHtmxRequest
from investigations.enforcement import selectors, services
from investigations.enforcement.forms import BanForm, ReviewForm
from investigations.enforcement.models import EnforcementAction
from investigations.models import Case

ITEMS_PER_PAGE = 100
CHANGES_PER_PAGE = 100


def _controls_context(
    request: AuthedHtmxRequest, form: BanForm, *, case_id: int | None, account_pk: int | None
) -> dict[str, object]:
    """What the ban form needs: the case's scope counts, or the one account, or the list of open cases."""
    context: dict[str, object] = {
        "form": form,
        "can_ban": request.user.has_perm(services.BAN_PERMISSION),
        "threshold": settings.ENFORCEMENT_APPROVAL_THRESHOLD,
        "window_hours": settings.ENFORCEMENT_APPROVAL_WINDOW_HOURS,
    }
    if case_id:
        context["scope"] = selectors.case_scope_for_user(user=request.user, case_id=case_id)
    elif account_pk:
        context["account"] = selectors.account_get_for_user(user=request.user, account_pk=account_pk)
    else:
        context["cases"] = selectors.cases_for_ban_form(user=request.user)
    return context


@require_GET
@login_required
def action_list(request: AuthedHtmxRequest) -> HttpResponse:
    actions = selectors.action_list_for_user(user=request.user, status=request.GET.get("status", ""))
    page = Paginator(actions, 50).get_page(request.GET.get("page"))
    controls = _controls_context(request, BanForm(), case_id=None, account_pk=None)
    template = "enforcement/action_list.html"
    if request.htmx and not request.htmx.boosted:
        template += "#actions-table"
    return render(
        request,
        template,
        {
            "page": page,
            "statuses": EnforcementAction.Status.choices,
            "status": request.GET.get("status", ""),
            "page_extra": _query_without(request, "page"),
            "refresh_query": request.GET.urlencode(),
        }
        | controls,
    )


@require_GET
@login_required
def ban_controls(request: AuthedHtmxRequest) -> HttpResponse:
    """The ban form for a case (`?case=`), one account (`?account=`), or free choice."""
    case_id = _int_param(request.GET.get("case"))
    account_pk = _int_param(request.GET.get("account"))
    initial = {"case": case_id} if case_id else {}
    form = BanForm(initial=initial)
    context = _controls_context(request, form, case_id=case_id, account_pk=account_pk)
    return render(request, "enforcement/ban_controls.html", context)


@require_POST
@login_required
def action_create(request: AuthedHtmxRequest) -> HttpResponse:
    form = BanForm(request.POST)
    # Which controls to render back: the ones of a case or account page, or the free form of the list page.
    case_id = _int_param(request.POST.get("controls_case"))
    account_pk = _int_param(request.POST.get("controls_account"))
    action = None
    if form.is_valid():
        data = form.cleaned_data
        case = get_object_or_404(Case.objects.visible_to(request.user), pk=data["case"]) if data["case"] else None
        try:
            action = services.action_request(
                actor=request.user,
                kind=data["action"],
                reason=data["reason"],
                accounts=data["identifiers"] or None,
                case=case,
                scope=data.get("scope") or "",
            )
        except services.EnforcementError as exc:
            form.add_error(None, str(exc))
    if action is not None and not request.htmx:
        messages.success(request, _outcome(action))
        return redirect(action)
    context = _controls_context(request, form if action is None else BanForm(), case_id=case_id, account_pk=account_pk)
    context["action"] = action
    status = 200 if (action is not None or request.htmx) else 400
    response = render(request, "enforcement/ban_controls.html", context, status=status)
    if action is None:
        return response
    # Refresh enforcement widgets and the case page's activity panel.
    trigger_client_event(response, "enforcementChanged")
    return trigger_client_event(response, "caseUpdated")


def _outcome(action: EnforcementAction) -> str:
    if action.is_pending:
        count, why = action.account_count, action.approval_reason
        return f"Action #{action.pk} on {count} accounts waits for a lead's approval: {why}"
    return f"Action #{action.pk} applied: {action.changed_count} of {action.account_count} accounts changed."


@require_GET
@login_required
def action_detail(request: AuthedHtmxRequest, action_id: int) -> HttpResponse:
    action = selectors.action_get_for_user(user=request.user, action_id=action_id)
    item_page = Paginator(range(action.account_count), ITEMS_PER_PAGE).get_page(request.GET.get("items"))
    items = selectors.action_items(action=action, offset=item_page.start_index() - 1, limit=ITEMS_PER_PAGE)
    state = request.GET.get("state", "")
    change_page = Paginator(selectors.action_changes(action=action, state=state), CHANGES_PER_PAGE).get_page(
        request.GET.get("changes")
    )
    can_review = (
        action.is_pending
        and request.user.has_perm(services.APPROVE_PERMISSION)
        and action.requested_by_id != request.user.pk
    )
    template = "enforcement/action_detail.html"
    if request.htmx and not request.htmx.boosted and request.GET.get("changes"):
        template += "#changes-table"
    return render(
        request,
        template,
        {
            "action": action,
            "items": items,
            "item_page": item_page,
            "change_page": change_page,
            "state": state,
            # Each pager and the state filter keep the other table's place (and the filter).
            "items_extra": _query_without(request, "items"),
            "changes_extra": _query_without(request, "changes"),
            "state_extra": _query_without(request, "changes", "state"),
            "progress": selectors.action_progress(action=action),
            "can_review": can_review,
            "can_resend": request.user.has_perm(services.APPROVE_PERMISSION),
            "review_form": ReviewForm(),
        },
    )


@require_GET
@login_required
def action_progress(request: AuthedHtmxRequest, action_id: int) -> HttpResponse:
    """Polled by the action page while deliveries are under way; stops the polling once all arrived."""
    action = selectors.action_get_for_user(user=request.user, action_id=action_id)
    progress = selectors.action_progress(action=action)
    response = render(
        request,
        "enforcement/action_detail.html#delivery-progress",
        {"action": action, "progress": progress, "can_resend": request.user.has_perm(services.APPROVE_PERMISSION)},
    )
    return HttpResponseStopPolling(response.content) if progress.done else response


@require_POST
@login_required
def action_review(request: AuthedHtmxRequest, action_id: int) -> HttpResponse:
    form = ReviewForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose approve or reject.")
        return redirect("enforcement:action-detail", action_id=action_id)
    service = services.action_approve if form.cleaned_data["decision"] == "approve" else services.action_reject
    try:
        action = service(action_id=action_id, actor=request.user, comment=form.cleaned_data["comment"])
    except services.EnforcementError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Action #{action.pk} {action.get_status_display().lower()}.")
    return redirect("enforcement:action-detail", action_id=action_id)


@require_POST
@login_required
def action_resend(request: AuthedHtmxRequest, action_id: int) -> HttpResponse:
    action = selectors.action_get_for_user(user=request.user, action_id=action_id)
    change_id = _int_param(request.POST.get("change"))
    try:
        count = services.changes_resend(actor=request.user, action=action, change_id=change_id)
    except services.EnforcementError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"{count} change(s) queued for delivery again.")
    return redirect(action)


@require_GET
@login_required
@permission_required(services.APPROVE_PERMISSION, raise_exception=True)
def approval_queue(request: AuthedHtmxRequest) -> HttpResponse:
    pending = selectors.action_list_for_user(user=request.user, status=EnforcementAction.Status.PENDING_APPROVAL)
    context = {
        "pending": pending[:200],
        "threshold": settings.ENFORCEMENT_APPROVAL_THRESHOLD,
        "window_hours": settings.ENFORCEMENT_APPROVAL_WINDOW_HOURS,
    }
    return render(request, "enforcement/approval_queue.html", context)


@require_GET
@login_required
def account_history(request: AuthedHtmxRequest, account_pk: int) -> HttpResponse:
    """An account's enforcement history (a fragment the account page loads)."""
    account = selectors.account_get_for_user(user=request.user, account_pk=account_pk)
    history = selectors.account_history_for_user(user=request.user, account=account)
    return render(request, "enforcement/account_history.html", {"account": account, "history": history})


def _query_without(request: AuthedHtmxRequest, *names: str) -> str:
    """The current query minus `names`, as '&a=1&b=2' to append after a pager's own parameter."""
    params = request.GET.copy()
    for name in names:
        params.pop(name, None)
    encoded = params.urlencode()
    return f"&{encoded}" if encoded else ""


def _int_param(value: str | None) -> int | None:
    """An optional integer query/form parameter; anything else is a 400, not a crash."""
    if value is None or not value.strip():
        return None
    if not value.strip().isdigit():
        raise BadRequest("Identifiers are positive integers.")
    return int(value)
