"""Template context shared by every page."""

from __future__ import annotations

from django.http import HttpRequest

from investigations.roles import role_of


def roles(request: HttpRequest) -> dict[str, str]:
    return {"user_role": role_of(getattr(request, "user", None))}
