"""Read the matchable values out of STIX patterns (ours and partners').

Only equality comparisons (and `email-addr:value LIKE '%@domain'`) name a value we can look up;
the comparisons of one observation expression `[...]` are read together so that a hashed
identifier's `identifier_type`, `key_id` and `value_hmac` stay one value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_STRING = r"'[^'\\]*(?:\\.[^'\\]*)*'"  # a quoted literal, backslash escapes allowed (unrolled: no backtracking)
_OBSERVATION = re.compile(r"\[((?:[^\]']+|" + _STRING + r")*)\]")
_COMPARISON = re.compile(
    r"(?P<type>[a-z0-9][a-z0-9-]*):(?P<path>(?:[A-Za-z0-9_.\-]+|" + _STRING + r")+)\s*"
    r"(?P<op>=|LIKE)\s*(?P<value>" + _STRING + r"|-?\d+)"
)
_UA_PATH = "extensions.'http-request-ext'.request_header.'User-Agent'"
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_HEX16 = re.compile(r"^[0-9a-f]{16}$")
_UNESCAPE = re.compile(r"\\(.)")


@dataclass(frozen=True)
class PatternValue:
    kind: str
    value: str
    key_id: str = ""


def _literal(raw: str) -> str:
    if raw.startswith("'"):
        inner = raw[1:-1]
        return _UNESCAPE.sub(r"\1", inner) if "\\" in inner else inner
    return raw


def values_of(pattern: str) -> list[PatternValue]:
    """Every matchable value of a STIX pattern; unknown object types are skipped, not errors."""
    out: list[PatternValue] = []
    for observation in _OBSERVATION.findall(pattern):
        props: dict[tuple[str, str], tuple[str, str]] = {}
        for m in _COMPARISON.finditer(observation):
            key = (m["type"], m["path"])
            value = _literal(m["value"])
            if m["type"] in ("ipv4-addr", "ipv6-addr", "autonomous-system", "domain-name", "network-traffic"):
                out.extend(_single(m["type"], m["path"], m["op"], value))
            elif m["type"] == "email-addr" and m["path"] == "value" and m["op"] == "LIKE" and value.startswith("%@"):
                out.append(PatternValue("email-domain", value[2:].lower()))
            else:
                props[key] = (m["op"], value)
        out.extend(_composite(props))
    return list(dict.fromkeys(out))


def _single(stix_type: str, path: str, op: str, value: str) -> list[PatternValue]:
    if op != "=":
        return []
    if stix_type == "ipv4-addr" and path == "value":
        return [PatternValue("ipv4", value.removesuffix("/32"))]
    if stix_type == "ipv6-addr" and path == "value":
        return [PatternValue("ipv6", value.removesuffix("/128").lower())]
    if stix_type == "autonomous-system" and path == "number" and value.lstrip("-").isdigit():
        return [PatternValue("asn", str(int(value)))]
    if stix_type == "domain-name" and path == "value":
        return [PatternValue("email-domain", value.lower())]
    if stix_type == "network-traffic" and path == _UA_PATH:
        return [PatternValue("user-agent", value)]
    return []


def _composite(props: dict[tuple[str, str], tuple[str, str]]) -> list[PatternValue]:
    def get(t: str, p: str) -> str:
        op, value = props.get((t, p), ("", ""))
        return value if op == "=" else ""

    out = []
    if h := get("hashed-identifier", "value_hmac").lower():
        itype = get("hashed-identifier", "identifier_type")
        kind = {"email-addr": "email-hmac", "payment-instrument": "payment-hmac"}.get(itype)
        if kind and _HEX64.match(h):
            out.append(PatternValue(kind, h, get("hashed-identifier", "key_id")))
    pf_kind = get("prompt-fingerprint", "kind")
    sha = (get("prompt-fingerprint", "sha256") or get("prompt-fingerprint", "template_sha256")).lower()
    if _HEX64.match(sha):
        kind = pf_kind if pf_kind in ("system-prompt", "tools") else "prompt-sha256"
        out.append(PatternValue(kind, sha))
    if (sim := get("prompt-fingerprint", "simhash64").lower()) and _HEX16.match(sim):
        out.append(PatternValue("simhash", sim))
    if get("client-fingerprint", "kind") == "ja4" and (ja4 := get("client-fingerprint", "value")):
        out.append(PatternValue("ja4", ja4))
    return out
