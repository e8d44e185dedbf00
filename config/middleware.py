"""Show dates in the analyst's own time zone.

The browser reports its IANA zone in a cookie (static/js/app.js sets `tz`);
templates then render local times, with UTC kept in the title attribute.
"""

from __future__ import annotations

import functools
import zoneinfo
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils import timezone


class UserTimezoneMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        name = request.COOKIES.get("tz", "")
        # The cookie is client input: only a known IANA name is used (a path such as
        # "America" or "../x" would otherwise reach the file system).
        if name in _known_zones():
            timezone.activate(zoneinfo.ZoneInfo(name))
        else:
            timezone.deactivate()
        return self.get_response(request)


@functools.cache
def _known_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())
