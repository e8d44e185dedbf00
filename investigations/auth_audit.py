"""Login successes and failures go to the audit log.

Django reports them only through its auth signals, so this is the one place
where signal receivers write state.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.dispatch import receiver
from django.http import HttpRequest

from investigations.services.audit import audit_record


def _client_ip(request: HttpRequest | None) -> str | None:
    return request.META.get("REMOTE_ADDR") if request is not None else None


@receiver(user_logged_in)
def _logged_in(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    audit_record(actor=user, action="auth.login", obj=user, ip=_client_ip(request))


@receiver(user_login_failed)
def _login_failed(sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any) -> None:
    username = str(credentials.get("username", ""))[:150]
    user = get_user_model().objects.filter(username=username).first()
    audit_record(
        actor=None,
        action="auth.login_failed",
        object_type="auth.user",
        object_id=user.pk if user else "",
        object_repr=username,
        ip=_client_ip(request),
    )
