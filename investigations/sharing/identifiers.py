"""Keyed hashes of personal identifiers, so partners holding the community key can match without clear values.

HMAC-SHA-256(community_key[key_id], identifier_type + "\\0" + normalized), hex (sharing-profile.md,
"Personal data"). A plain SHA-256 of an e-mail is reversed with a dictionary; a keyed hash is not.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import unicodedata
from functools import cache

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

EMAIL = "email-addr"
PAYMENT = "payment-instrument"
ACCOUNT = "account-id"

EMAIL_NORMALIZATION = "email-v1:nfkc,lower,strip-plus,gmail-dots"
OPAQUE_NORMALIZATION = "opaque-v1:strip"
_GMAIL = {"gmail.com", "googlemail.com"}


def normalize_email(email: str) -> str:
    """`email-v1`: NFKC, lower-case, strip a +tag from the local part, drop dots in gmail local parts."""
    value = email if email.isascii() else unicodedata.normalize("NFKC", email)  # NFKC is identity on ASCII
    value = value.strip().lower()
    local, sep, domain = value.rpartition("@")
    if not sep:
        return value
    local = local.split("+", 1)[0]
    if domain in _GMAIL:
        local = local.replace(".", "")
    return f"{local}@{domain}"


def normalize(identifier_type: str, value: str) -> str:
    if identifier_type == EMAIL:
        return normalize_email(value)
    return value.strip()


def normalization_name(identifier_type: str) -> str:
    return EMAIL_NORMALIZATION if identifier_type == EMAIL else OPAQUE_NORMALIZATION


@cache
def _parsed_keys(raw: str) -> dict[str, bytes]:
    try:
        keys = json.loads(raw)
    except ValueError as exc:
        raise ImproperlyConfigured("SHARING_COMMUNITY_KEYS must be a JSON object {key_id: secret}") from exc
    if not isinstance(keys, dict) or not all(isinstance(v, str) and v for v in keys.values()):
        raise ImproperlyConfigured("SHARING_COMMUNITY_KEYS must be a JSON object {key_id: secret}")
    return {k: v.encode() for k, v in keys.items()}


def community_keys() -> dict[str, bytes]:
    """Configured key id -> secret; embedded/DEBUG mode gets a generated 'demo' key under VAR_DIR."""
    raw = settings.SHARING_COMMUNITY_KEYS
    if raw:
        return _parsed_keys(raw)
    if settings.EMBEDDED or settings.DEBUG:
        import secrets

        path = settings.VAR_DIR / "sharing_community_keys.json"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps({"demo": secrets.token_urlsafe(32)}))
        return _parsed_keys(path.read_text())
    return {}


def community_key(key_id: str) -> bytes:
    keys = community_keys()
    if key_id not in keys:
        raise ImproperlyConfigured(f"No community key {key_id!r} in SHARING_COMMUNITY_KEYS")
    return keys[key_id]


def keyed_hash(*, key: bytes, identifier_type: str, value: str) -> str:
    message = f"{identifier_type}\0{normalize(identifier_type, value)}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def hasher(*, key: bytes, identifier_type: str):
    """`keyed_hash` for many values with one key: the HMAC key schedule is computed once and copied."""
    base = hmac.new(key, f"{identifier_type}\0".encode(), hashlib.sha256)

    def digest(value: str) -> str:
        h = base.copy()
        h.update(normalize(identifier_type, value).encode())
        return h.hexdigest()

    return digest
