"""Paging the case page's accounts table swaps the table only (it once nested the whole page inside it)."""

from __future__ import annotations

from tests.browser.conftest import log_in
from tests.investigations.conftest import build_scenario


def test_next_page_of_accounts_replaces_only_the_table(live_server, analyst, browser_page):
    scenario = build_scenario(accounts=52, events_per_account=1, prefix="acct_p")
    page, base = browser_page, live_server.url
    log_in(page, base, analyst)

    page.goto(f"{base}{scenario.case.get_absolute_url()}")
    page.locator("#case-accounts .pager a", has_text="Next").click()
    page.locator("#case-accounts .pager", has_text="Page 2 of 2").wait_for()
    assert page.locator("#case-accounts").count() == 1
    assert page.locator("#case-indicators").count() == 1
    assert page.locator("h1").count() == 1
    assert page.url.endswith(scenario.case.get_absolute_url())  # the table pages in place, the URL stays
    assert "hx_base" not in page.content()  # the pager's template comment stays a comment
