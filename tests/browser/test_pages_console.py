"""Every dashboard page renders in Chromium without a console error (the CSP forbids inline code and foreign assets)."""

from __future__ import annotations

from django.urls import reverse

from tests.browser.conftest import log_in
from tests.investigations.conftest import build_scenario


def test_dashboard_pages_load_without_console_errors(live_server, analyst, browser_page):
    scenario = build_scenario(prefix="acct_c")
    page, base = browser_page, live_server.url
    log_in(page, base, analyst)
    urls = [
        reverse("overview"),
        reverse("alert-list"),
        reverse("case-list"),
        scenario.case.get_absolute_url(),
        reverse("account-detail", args=[scenario.accounts[0].account_id]),
    ]
    for url in urls:
        page.goto(f"{base}{url}")
        page.wait_for_load_state("networkidle")  # lazy htmx partials (graph, timeline) and plotly have run
        assert page.locator("main").count() == 1
    # browser_page fails the test on any page or console error collected on the way.
