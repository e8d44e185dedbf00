"""The account page and its usage charts partial."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render

from accounts import selectors
from config.http import AuthedHtmxRequest
from investigations import charts
from investigations.selectors import alerts as alert_selectors
from investigations.selectors.usage import account_usage, tz_label
from investigations.views.common import figure_data


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
    hourly = account_usage(account=account)
    tz_name = tz_label()
    context = {
        "account": account,
        "has_usage": bool(hourly),
        "timeline_fig": figure_data(charts.usage_timeline(hourly, tz_name=tz_name)),
        "heatmap_fig": figure_data(charts.activity_heatmap(hourly, tz_name=tz_name)),
        "chart_id": f"acct-{account.pk}",
        "timeline_id": f"timeline-data-acct-{account.pk}",
        "heatmap_id": f"heatmap-data-acct-{account.pk}",
        "title": f"Requests of {account.account_id}",
    }
    return render(request, "investigations/_usage_charts.html", context)
