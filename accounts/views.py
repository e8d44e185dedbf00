"""The account page and its usage charts partial."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render

from accounts import selectors
from config.http import AuthedHtmxRequest
from investigations.selectors import alerts as alert_selectors
from investigations.selectors import figures


@login_required
def account_detail(request: AuthedHtmxRequest, account_id: str) -> HttpResponse:
    account = selectors.account_get_for_user(user=request.user, account_id=account_id)
    membership = selectors.account_membership(account=account)
    can_pii = request.user.has_perm("investigations.view_pii")
    context = {
        "account": account,
        "membership": membership,
        "can_view_pii": can_pii,
        "alerts": alert_selectors.account_alerts(user=request.user, account_pk=account.pk),
        "linked": selectors.linked_accounts(account=account, membership=membership, can_view_pii=can_pii),
    }
    return render(request, "accounts/account_detail.html", context)


@login_required
def account_timeline(request: AuthedHtmxRequest, account_id: str) -> HttpResponse:
    """One account's request timeline and heatmap: on its page, and on the case page from the accounts table."""
    account = selectors.account_get_for_user(user=request.user, account_id=account_id)
    figs = figures.account_usage_figures(account=account)
    context = {
        "account": account,
        "has_usage": bool(figs),
        "timeline_fig": figs.get("timeline"),
        "heatmap_fig": figs.get("heatmap"),
        "chart_id": f"acct-{account.pk}",
        "timeline_id": f"timeline-data-acct-{account.pk}",
        "heatmap_id": f"heatmap-data-acct-{account.pk}",
        "title": f"Requests of {account.account_id}",
    }
    return render(request, "investigations/_usage_charts.html", context)
