"""HTTP Basic authentication of partners for the TAXII server (per-partner credentials managed in the app)."""

from __future__ import annotations

import base64
import binascii

from django.http import HttpRequest

from investigations.sharing.models import Partner


def partner_from_request(request: HttpRequest) -> Partner | None:
    """The active partner whose Basic credentials the request carries, or None."""
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or not encoded:
        return None
    try:
        username, sep, password = base64.b64decode(encoded.strip(), validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    if not sep:
        return None
    partner = Partner.objects.filter(username=username, is_active=True).first()
    if partner is None or not partner.check_password(password):
        return None
    return partner
