"""Request types for views: an authenticated request that may come from htmx."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.http import HttpRequest
from django_htmx.middleware import HtmxDetails


class AuthedHtmxRequest(HttpRequest):
    """What a view behind @login_required receives once HtmxMiddleware has run."""

    user: User
    htmx: HtmxDetails
