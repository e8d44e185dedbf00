"""Check a detached signature: `verify_bundle FILE SIGNATURE [--jwk KEY.json]`.

FILE is a bundle, or a signed TAXII manifest saved from `{collection}/signed-manifest/` (then the
signature inside it is used when SIGNATURE is omitted; the key is ours or --jwk, never the
embedded one). Exit status 1 when it does not verify.
"""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from investigations.sharing import signing


class Command(BaseCommand):
    help = "Verify a bundle (or signed manifest) against its detached JWS."

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("signature", type=Path, nargs="?")
        parser.add_argument("--jwk", type=Path, help="Public key (JWK or JWK set); default: our own key.")

    def handle(self, *args, file: Path, signature: Path | None, jwk: Path | None, **kwargs) -> None:
        try:
            document = json.loads(file.read_bytes())
        except (OSError, ValueError) as exc:
            raise CommandError(f"{file}: not readable JSON ({exc})") from exc
        key = None
        if jwk:
            key = json.loads(jwk.read_text())
            key = key["keys"][0] if "keys" in key else key
        if signature is not None:
            jws = signature.read_text().strip()
        elif isinstance(document, dict) and {"manifest", "signature"} <= document.keys():
            # The key embedded in the manifest is not trusted: the default is our own key, else --jwk.
            jws, document = document["signature"], document["manifest"]
        else:
            raise CommandError("Give the signature file (FILE.jws).")
        try:
            header = signing.verify(document, jws, key)
        except signing.SignatureError as exc:
            raise CommandError(f"NOT VERIFIED: {exc}") from exc
        self.stdout.write(f"Verified: {file} signed with key {header.get('kid', '?')} (EdDSA over RFC 8785 JSON).")
