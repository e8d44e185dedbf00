"""Chromium through Playwright against pytest-django's live_server (Debian's chromium; no download)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]


@pytest.fixture(autouse=True)
def _live_server_hosts(settings) -> None:
    settings.ALLOWED_HOSTS = ["*"]


@pytest.fixture(autouse=True)
def _no_persistent_connections() -> Iterator[None]:
    """The live server's request threads close their connections, so the test database can be dropped."""
    from django.db import connections

    db_settings = connections.settings["default"]
    before = db_settings.get("CONN_MAX_AGE", 0)
    db_settings["CONN_MAX_AGE"] = 0
    yield
    db_settings["CONN_MAX_AGE"] = before


def collect_errors(page: object) -> list[str]:
    """Errors the page reports: uncaught exceptions and console messages of type error.

    CSP violations (an inline script or style, an asset from another origin), failed
    asset loads and console.error calls surface only on the console, never as a
    page error. No console error is known to be harmless here, so none is allowed.
    """
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(f"console: {msg.text}") if msg.type == "error" else None)
    return errors


@pytest.fixture
def chromium_page(monkeypatch) -> Iterator[tuple[object, list[str]]]:
    """A fresh page in headless Chromium and the list its errors are collected into."""
    # Playwright's sync API keeps an event loop running in this thread; the test's own ORM
    # calls are still plain synchronous code, so Django's async guard is lifted for them.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from django.db import connections
    from playwright.sync_api import sync_playwright

    executable = shutil.which("chromium")
    if executable is None:
        pytest.fail("Debian's chromium is required for browser tests (make chromium installs it)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1400, "height": 1000}, timezone_id="Europe/Berlin")
        page = context.new_page()
        errors = collect_errors(page)
        page.set_default_timeout(20_000)
        yield page, errors
        browser.close()
        # Inside Playwright's context, Django's per-context connection handler is another one: the
        # test's ORM calls opened a connection of their own. Closed here, where it is visible, or it
        # outlives the run and the test database cannot be dropped ("being accessed by other users").
        connections.close_all()


@pytest.fixture
def browser_page(chromium_page) -> Iterator[object]:
    """A page whose JavaScript errors and console errors (CSP violations included) fail the test."""
    page, errors = chromium_page
    yield page
    assert not errors, f"JavaScript or console errors: {errors}"


def log_in(page, base: str, user) -> None:
    """Sign in through the login form, as an analyst would; returns on the overview."""
    page.goto(f"{base}/login/")
    page.fill("input[name=username]", user.username)
    page.fill("input[name=password]", "pw-for-tests-only")
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")
