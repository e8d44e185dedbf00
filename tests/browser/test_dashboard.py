"""An analyst's path through the dashboard in a real browser: triage, open a case, read it, work it, find it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import Account, UsageEvent
from investigations.models import Case, Note
from tests.browser.conftest import log_in
from tests.investigations.conftest import build_scenario

# Predicates passed to the browser are functions, never expression strings: the CSP forbids eval.
# The live server reads committed data. The role groups come back after each flush through
# post_migrate (investigations.roles.sync_role_groups).
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _give_loose_accounts_traffic(scenario) -> None:
    """The queue's loose accounts share a card and a proxy, and have sent requests."""
    now = timezone.now()
    accounts = [a.account for a in scenario.loose_alerts]
    Account.objects.filter(pk__in=[a.pk for a in accounts]).update(payment_fingerprint="pf_loose_card")
    UsageEvent.objects.bulk_create(
        [
            UsageEvent(
                event_id=f"evt_loose_{a.pk}_{j}",
                account=a,
                ts=now - timedelta(hours=3 * j),
                ip="192.0.2.55",
                category=UsageEvent.Category.REASONING,
                cot_requested=True,
                output_tokens=1500,
            )
            for a in accounts
            for j in range(20)
        ]
    )


def test_analyst_triages_alerts_into_a_case_and_works_it(live_server, analyst, browser_page):
    scenario = build_scenario()
    _give_loose_accounts_traffic(scenario)
    page = browser_page
    base = live_server.url

    log_in(page, base, analyst)

    # Filter the queue: the table swaps in place and the URL carries the filter.
    page.goto(f"{base}/alerts/")
    page.select_option("#alert-filters select[name=detector]", "volume-anomaly")
    page.wait_for_url("**/alerts/?*detector=volume-anomaly*")
    page.wait_for_function("() => document.querySelectorAll('#alert-rows tr[data-row]').length === 3")

    # Bulk: every alert matching the filter into a new case.
    page.check("#select-all-matching")
    page.select_option("#bulk-action", "new_case")
    page.fill("#alert-bulk input[name=title]", "Loose card operator")
    page.click("#bulk-action ~ button[type=submit]")
    page.wait_for_url("**/cases/*/")
    case = Case.objects.get(title="Loose card operator")
    assert case.memberships.count() == 3

    # The cluster graph and the timeline draw with data (read back from the plotly divs).
    page.wait_for_selector("#graph-chart[data-rendered]")
    graph = page.evaluate(
        """() => { const d = document.getElementById('graph-chart').data;
                   return d.flatMap(t => Array.from(t.customdata || [])); }"""
    )
    assert {f"account:{a.account.account_id}" for a in scenario.loose_alerts} <= set(graph)
    assert "indicator:0" in graph
    page.wait_for_selector(f"#timeline-case-{case.pk}[data-rendered]")
    requests = page.evaluate(
        f"""() => document.getElementById('timeline-case-{case.pk}').data
                 .filter(t => t.type === 'bar').reduce((n, t) => n + Array.from(t.y).reduce((a, b) => a + b, 0), 0)"""
    )
    assert requests == 60
    page.wait_for_selector(f"#heatmap-case-{case.pk}[data-rendered]")

    # Clicking an account in the accounts table draws its own timeline.
    page.click("#case-accounts button:has-text('Timeline')")
    page.wait_for_selector("#account-timeline [data-testid=timeline-chart][data-rendered]")

    # Status workflow over htmx: the header and the activity log update without a reload.
    page.select_option("[data-testid=status-select]", "investigating")
    page.fill("#status-form input[name=reason]", "pulling the proxy logs")
    page.click("#status-form button[type=submit]")
    page.wait_for_function(
        "() => document.querySelector('[data-testid=case-status]').textContent.trim() === 'Investigating'"
    )
    page.wait_for_selector("#case-activity:has-text('case.status_changed')")
    assert Case.objects.get(pk=case.pk).status == Case.Status.INVESTIGATING

    # A markdown note.
    page.fill("#case-notes textarea[name=body]", "Same **card** on all three accounts")
    page.click("#case-notes button[type=submit]")
    page.wait_for_selector("#case-notes strong:has-text('card')")
    assert Note.objects.get(case=case).body == "Same **card** on all three accounts"

    # Search by an IP from the nav bar finds the case.
    page.fill(".navsearch input[name=q]", "192.0.2.55")
    page.press(".navsearch input[name=q]", "Enter")
    page.wait_for_url("**/cases/?q=192.0.2.55")
    assert page.locator("#case-table tbody tr").count() == 1
    assert "Loose card operator" in page.locator("#case-table").inner_text()
