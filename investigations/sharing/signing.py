"""Ed25519 signatures over the RFC 8785 (JCS) canonical JSON, as detached JWS (`alg: EdDSA`, `kid`).

STIX and TAXII define no signatures (sharing-profile.md, "Signatures"). Signing the canonical
form means a bundle that was re-serialized (other key order, other whitespace) still verifies,
while any change to a value does not.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from functools import cache

import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


class SignatureError(ValueError):
    """The signature is malformed, from another key, or does not match the document."""


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise SignatureError("not base64url") from exc


def canonical(document: object) -> bytes:
    """RFC 8785 canonical JSON."""
    return rfc8785.dumps(document)


def sha256_canonical(document: object) -> str:
    return hashlib.sha256(canonical(document)).hexdigest()


def load_private_key(text: str) -> Ed25519PrivateKey:
    """A PEM (PKCS#8) key or base64 of the 32 raw private bytes."""
    text = text.strip()
    if text.startswith("-----BEGIN"):
        key = serialization.load_pem_private_key(text.encode(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ImproperlyConfigured("SHARING_SIGNING_KEY must be an Ed25519 key")
        return key
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ImproperlyConfigured("SHARING_SIGNING_KEY must be PEM or base64 of 32 bytes") from exc
    if len(raw) != 32:
        raise ImproperlyConfigured("SHARING_SIGNING_KEY must be PEM or base64 of 32 bytes")
    return Ed25519PrivateKey.from_private_bytes(raw)


@cache
def _key_from_text(text: str) -> Ed25519PrivateKey:
    return load_private_key(text)


def signing_key() -> Ed25519PrivateKey:
    """The configured key; embedded/DEBUG mode keeps a generated one under VAR_DIR, like SECRET_KEY."""
    if settings.SHARING_SIGNING_KEY:
        return _key_from_text(settings.SHARING_SIGNING_KEY)
    if settings.EMBEDDED or settings.DEBUG:
        path = settings.VAR_DIR / "sharing_signing_key.pem"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            pem = Ed25519PrivateKey.generate().private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
            path.write_bytes(pem)
            path.chmod(0o600)
        return _key_from_text(path.read_text())
    raise ImproperlyConfigured("SHARING_SIGNING_KEY is required to sign bundles in production")


def public_jwk(public_key: Ed25519PublicKey | None = None) -> dict:
    """Our public key as a JWK (RFC 8037); `kid` is its RFC 7638 thumbprint."""
    public_key = public_key or signing_key().public_key()
    x = b64url(public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw))
    kid = b64url(hashlib.sha256(canonical({"crv": "Ed25519", "kty": "OKP", "x": x})).digest())
    return {"kty": "OKP", "crv": "Ed25519", "x": x, "kid": kid, "use": "sig", "alg": "EdDSA"}


def public_key_from_jwk(jwk: dict) -> Ed25519PublicKey:
    if not isinstance(jwk, dict) or jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519" or "x" not in jwk:
        raise SignatureError("the key is not an Ed25519 JWK (kty OKP, crv Ed25519, x)")
    raw = b64url_decode(str(jwk["x"]))
    if len(raw) != 32:
        raise SignatureError("the JWK's x is not 32 bytes")
    return Ed25519PublicKey.from_public_bytes(raw)


def sign(document: object) -> str:
    """Detached compact JWS (RFC 7515 appendix F): `header..signature` over JCS(document)."""
    jwk = public_jwk()
    header = b64url(canonical({"alg": "EdDSA", "kid": jwk["kid"]}))
    signing_input = f"{header}.{b64url(canonical(document))}".encode()
    return f"{header}..{b64url(signing_key().sign(signing_input))}"


def verify(document: object, jws: str, jwk: dict | None = None) -> dict:
    """Check a detached JWS over JCS(document); returns the protected header. Raises SignatureError."""
    parts = jws.strip().split(".")
    if len(parts) != 3 or parts[1] != "":
        raise SignatureError("not a detached compact JWS (header..signature)")
    try:
        header = json.loads(b64url_decode(parts[0]))
    except ValueError as exc:
        raise SignatureError("the JWS header is not JSON") from exc
    if not isinstance(header, dict) or header.get("alg") != "EdDSA":
        raise SignatureError("the JWS alg must be EdDSA")
    jwk = jwk or public_jwk()
    if header.get("kid") and jwk.get("kid") and header["kid"] != jwk["kid"]:
        raise SignatureError(f"signed with key {header['kid']!r}, not {jwk['kid']!r}")
    signing_input = f"{parts[0]}.{b64url(canonical(document))}".encode()
    try:
        public_key_from_jwk(jwk).verify(b64url_decode(parts[2]), signing_input)
    except InvalidSignature as exc:
        raise SignatureError("the signature does not match the document") from exc
    return header


def verify_bytes(raw: bytes, jws: str, jwk: dict | None = None) -> dict:
    """Parse a file's bytes as JSON and verify; a file that is not JSON cannot carry a valid signature."""
    try:
        document = json.loads(raw)
    except ValueError as exc:
        raise SignatureError("the document is not JSON") from exc
    return verify(document, jws, jwk)
