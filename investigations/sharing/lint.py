"""The sharing profile's own checks, which the OASIS validator does not make (sharing-profile.md, check 3).

Used on every bundle before it can be requested for approval, and in tests.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable

from investigations.sharing import tlp

_EMAIL = re.compile(r"[A-Za-z0-9._+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_HEX16 = re.compile(r"^[0-9a-f]{16}$")
_TOKEN = re.compile(r"[A-Za-z0-9_.@+\-]+")


def _refs(value: object, key: str = "") -> Iterable[str]:
    """Every identifier under a `*_ref` or `*_refs` property, however deep."""
    if isinstance(value, dict):
        for k, v in value.items():
            if k.endswith("_ref") and isinstance(v, str):
                yield v
            elif k.endswith("_refs") and isinstance(v, list):
                yield from (r for r in v if isinstance(r, str))
            else:
                yield from _refs(v, k)
    elif isinstance(value, list):
        for item in value:
            yield from _refs(item, key)


def lint_bundle(bundle: dict, *, private_values: Iterable[str] = ()) -> list[str]:
    """Problems found, as sentences; an empty list means the bundle passes."""
    problems: list[str] = []
    objects = bundle.get("objects", [])
    ids = {o.get("id") for o in objects}
    text = json.dumps(bundle, ensure_ascii=False)

    for obj in objects:
        if obj.get("type") == "marking-definition" and obj["id"] not in tlp.TLP2_IDS.values():
            problems.append(f"{obj['id']}: marking-definition is not one of the official TLP 2.0 ids")
        for ref in obj.get("object_marking_refs", []):
            if ref not in tlp.TLP2_IDS.values():
                problems.append(f"{obj['id']}: marking {ref} is not an official TLP 2.0 id")
    for ref in set(_refs(objects)):
        if ref not in ids:
            problems.append(f"reference {ref} does not resolve inside the bundle")

    if match := _EMAIL.search(text):
        problems.append(f"an e-mail address appears in the bundle ({match.group(0)[:3]}…)")
    # Ids and e-mails are looked up among the JSON's tokens (one pass); longer text (excerpts) by substring.
    tokens = set(_TOKEN.findall(text))
    for value in private_values:
        if not value or len(value) < 4:
            continue
        found = value in tokens if _TOKEN.fullmatch(value) else value in text
        if found:
            problems.append(f"private value {value[:3]}… appears in the bundle (account id, e-mail or excerpt)")

    for obj in objects:
        t = obj.get("type")
        if t == "hashed-identifier" and not _HEX64.match(str(obj.get("value_hmac", ""))):
            problems.append(f"{obj['id']}: value_hmac must be 64 lower-case hex digits")
        if t == "prompt-fingerprint":
            if "sha256" in obj and not _HEX64.match(str(obj["sha256"])):
                problems.append(f"{obj['id']}: sha256 must be 64 lower-case hex digits")
            if "simhash64" in obj and not _HEX16.match(str(obj["simhash64"])):
                problems.append(f"{obj['id']}: simhash64 must be 16 lower-case hex digits")
            if "sha256" not in obj and "simhash64" not in obj:
                problems.append(f"{obj['id']}: a prompt-fingerprint needs sha256 or simhash64")
        if t == "user-account" and not _HEX64.match(str(obj.get("user_id", ""))):
            problems.append(f"{obj['id']}: user_id must be a keyed hash (64 hex digits), never a raw account id")
    return problems
