"""Dates follow the analyst's time zone cookie; a bad cookie never breaks a page."""

from __future__ import annotations

import pytest
from django.http import HttpResponse
from django.test import RequestFactory
from django.utils import timezone

from config.middleware import UserTimezoneMiddleware


def _zone_seen_with(cookie: str | None) -> str:
    seen: list[str] = []

    def view(request):
        seen.append(timezone.get_current_timezone_name())
        return HttpResponse()

    request = RequestFactory().get("/")
    if cookie is not None:
        request.COOKIES["tz"] = cookie
    UserTimezoneMiddleware(view)(request)
    return seen[0]


def test_it_activates_the_cookie_zone():
    assert _zone_seen_with("Asia/Singapore") == "Asia/Singapore"


@pytest.mark.parametrize("cookie", [None, "", "America", "Not/AZone", "../../etc/passwd", "x" * 300, "Europe%2FBerlin"])
def test_it_falls_back_to_utc_on_a_missing_or_bad_cookie(cookie):
    assert _zone_seen_with(cookie) == "UTC"
