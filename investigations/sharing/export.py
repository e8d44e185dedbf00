"""Build the STIX 2.1 bundle for one case (or several cases as one campaign), per sharing-profile.md.

`build_export` is pure with respect to the database: it reads, never writes, so the preview can
call it as often as it likes. Publication (services.publication_approve) stores the result.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.utils import timezone

from accounts.models import Account, UsageEvent
from investigations.models import Case
from investigations.sharing import identifiers, stix_ids, tlp
from investigations.sharing.collect import (
    MAX_OUTSIDE_ACCOUNTS,
    RESHARE_RULE,
    SHARE_RULE,
    SPECIFICITY_RULE,
    Collected,
    Value,
    collect,
)
from investigations.sharing.models import SharingCommunity, Tlp
from investigations.sharing.signing import sha256_canonical

EXT_HASHED_IDENTIFIER = "extension-definition--bef4d3a4-c59b-480e-8b87-2f52aa52a04b"
EXT_PROMPT_FINGERPRINT = "extension-definition--929055f9-75a7-4859-9e87-e9ca67618b66"
EXT_CLIENT_FINGERPRINT = "extension-definition--2ae3d979-4f31-4779-9e69-d8e2e4fcc9a8"
PRIVATE_EXCERPT_SAMPLE = 100
CHUNK = 100  # comparisons per indicator pattern: keeps patterns readable and bundles compact

ATLAS = [
    ("AML.T0024.002", "Extract AI Model", "exfiltration"),
    ("AML.T0040", "AI Model Inference API Access", "ai-model-access"),
    ("AML.T0008.005", "AI Service Proxies", "resource-development"),
    ("AML.T0021", "Establish Accounts", "resource-development"),
    ("AML.T0065", "LLM Prompt Crafting", "resource-development"),
]
KIND_LABELS = {
    "ip": "Client / sign-up IP",
    "asn": "Autonomous system",
    "email-domain": "Bulk sign-up e-mail domain",
    "email": "Keyed hash of e-mail",
    "payment": "Keyed hash of payment fingerprint",
    "user-agent": "User agent",
    "ja4": "JA4 TLS fingerprint",
    "system-prompt": "System prompt SHA-256",
    "tools": "Tool harness SHA-256",
    "simhash": "Prompt SimHash (templated prompt)",
}


def stix_time(dt: datetime) -> str:
    dt = dt.astimezone(UTC) if dt.tzinfo else dt
    return f"{dt:%Y-%m-%dT%H:%M:%S}.{dt.microsecond // 1000:03d}Z"


def _quote(text: str) -> str:
    """A STIX pattern string literal: backslash and quote escaped."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def simhash_hex(stored: str) -> str:
    return f"{int(stored) & ((1 << 64) - 1):016x}"


@dataclass
class Export:
    """A built bundle plus what the preview shows about it."""

    bundle: dict
    collected: Collected
    scope_key: str
    included: list[dict] = field(default_factory=list)
    withheld: list[dict] = field(default_factory=list)
    keyed: dict[str, dict] = field(default_factory=dict)
    hashes: dict[str, str] = field(default_factory=dict)
    rules: list[str] = field(default_factory=list)
    private_values: list[str] = field(default_factory=list)


def scope_key_of(cases: list[Case]) -> str:
    return ",".join(str(pk) for pk in sorted(c.pk for c in cases))


class _Builder:
    def __init__(self, *, community: SharingCommunity, level: str, scope: str, now: datetime) -> None:
        self.community = community
        self.level = level
        self.strict_level = tlp.stricter(level, Tlp.AMBER_STRICT)
        self.scope = scope
        self.now = stix_time(now)
        self.objects: list[dict] = []
        self.keyed: dict[str, dict] = {}
        self.hashes: dict[str, str] = {}
        self.ids = stix_ids.StableIds(keys_hint=None)
        self.key = identifiers.community_key(community.key_id)
        self.identity_id = self.ids.id_for("identity", "identity:producer")

    def sdo(self, stix_type: str, key: str, props: dict, *, level: str | None = None, by_us: bool = True) -> dict:
        obj = {"type": stix_type, "spec_version": "2.1", "id": self.ids.id_for(stix_type, key)}
        if by_us:
            obj["created_by_ref"] = self.identity_id
        obj.update(props)
        obj["object_marking_refs"] = [tlp.TLP2_IDS[level or self.level]]
        content = sha256_canonical(obj)
        obj["created"], obj["modified"] = self.ids.stamps(key, content, self.now)
        self.keyed[key], self.hashes[key] = obj, content
        self.objects.append(obj)
        return obj

    def sco(self, stix_type: str, contributing: dict, props: dict, *, level: str | None = None, ext: str = "") -> dict:
        obj = {"type": stix_type, "spec_version": "2.1", "id": stix_ids.sco_id(stix_type, contributing)}
        obj.update(contributing)
        obj.update(props)
        if ext:
            obj["extensions"] = {ext: {"extension_type": "new-sco"}}
        obj["object_marking_refs"] = [tlp.TLP2_IDS[level or self.level]]
        self.objects.append(obj)
        return obj

    def relationship(self, rel: str, source: dict, target: dict) -> dict:
        key = f"rel:{rel}:{source['id']}:{target['id']}"
        return self.sdo(
            "relationship", key, {"relationship_type": rel, "source_ref": source["id"], "target_ref": target["id"]}
        )


def build_export(
    *, cases: list[Case], community: SharingCommunity, level: str = Tlp.AMBER, now: datetime | None = None
) -> Export:
    """Collect the confirmed accounts' specific indicators and express them as a STIX 2.1 bundle."""
    now = now or timezone.now()
    scope = scope_key_of(cases)
    collected = collect(cases)
    b = _Builder(community=community, level=level, scope=scope, now=now)
    export = Export(
        bundle={},
        collected=collected,
        scope_key=scope,
        rules=[SHARE_RULE, SPECIFICITY_RULE.format(limit=MAX_OUTSIDE_ACCOUNTS), RESHARE_RULE],
    )

    identity = b.sdo(
        "identity",
        "identity:producer",
        {"name": settings.SHARING_PRODUCER_NAME, "identity_class": "organization", "sectors": ["technology"]},
        by_us=False,
    )
    _extension_definitions(b)
    first = collected.first_seen or now
    last = collected.last_seen or now
    titles = "; ".join(c.title for c in cases)
    n_acc = len(collected.accounts)
    intrusion_set = b.sdo(
        "intrusion-set",
        f"intrusion-set:{scope}",
        {
            "name": titles,
            "description": f"Operator behind {n_acc} API accounts confirmed abusive by Hydra Watch.",
            "first_seen": stix_time(first),
            "goals": ["replicate model capabilities through output distillation"],
            "resource_level": "organization",
            "primary_motivation": "personal-gain",
        },
    )
    campaign = b.sdo(
        "campaign",
        f"campaign:{scope}",
        {
            "name": f"Distillation campaign: {titles}",
            "description": f"{n_acc} confirmed accounts, {collected.events_total} API requests.",
            "first_seen": stix_time(first),
            "last_seen": stix_time(max(last, first)),
            "objective": "Model distillation: harvest outputs through many API accounts",
        },
    )
    b.relationship("attributed-to", campaign, intrusion_set)
    for external_id, name, phase in ATLAS:
        pattern = b.sdo(
            "attack-pattern",
            f"attack-pattern:{external_id}",
            {
                "name": name,
                "kill_chain_phases": [{"kill_chain_name": "mitre-atlas", "phase_name": phase}],
                "external_references": [
                    {
                        "source_name": "mitre-atlas",
                        "external_id": external_id,
                        "url": f"https://atlas.mitre.org/techniques/{external_id}",
                    }
                ],
            },
            by_us=False,
        )
        b.relationship("uses", campaign, pattern)

    shared = collected.shared
    _observables_and_indicators(b, shared, campaign, now)
    _accounts(b, collected.accounts)

    report_refs = [o["id"] for o in b.objects if o["type"] not in ("identity", "marking-definition")]
    b.sdo(
        "report",
        f"report:{scope}",
        {
            "name": f"Hydra Watch indicator bundle: {titles}",
            "report_types": ["campaign"],
            "published": stix_time(now),
            "object_refs": report_refs,
        },
    )
    markings = {ref for o in b.objects for ref in o.get("object_marking_refs", [])}
    objects = [identity] + [tlp.marking_definition(lv) for lv, mid in tlp.TLP2_IDS.items() if mid in markings]
    objects += [o for o in b.objects if o is not identity]
    export.bundle = {"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "objects": objects}
    export.keyed, export.hashes = b.keyed, b.hashes
    export.included = [_summary_row(v, b) for v in shared]
    export.withheld = [_summary_row(v, b) | {"reason": v.withheld} for v in collected.withheld]
    export.withheld += [
        {"kind": "account", "label": "Account", "display": a.account_id, "accounts": 1, "events": 0, "reason": reason}
        for a, reason in collected.withheld_accounts
    ]
    export.private_values = _private_values(collected)
    return export


def _extension_definitions(b: _Builder) -> None:
    for ext_id, name, description in [
        (EXT_HASHED_IDENTIFIER, "hashed-identifier SCO", "Keyed hash (HMAC-SHA-256) of a normalized identifier."),
        (EXT_PROMPT_FINGERPRINT, "prompt-fingerprint SCO", "SHA-256 or 64-bit SimHash of a prompt or tool harness."),
        (EXT_CLIENT_FINGERPRINT, "client-fingerprint SCO", "TLS client fingerprint (JA4) of an API client."),
    ]:
        obj = {
            "type": "extension-definition",
            "spec_version": "2.1",
            "id": ext_id,
            "created_by_ref": b.identity_id,
            "created": "2026-11-01T00:00:00.000Z",
            "modified": "2026-11-01T00:00:00.000Z",
            "name": name,
            "description": description,
            "schema": "https://hydra-watch.invalid/stix-ext/" + name.split()[0],
            "version": "1.0.0",
            "extension_types": ["new-sco"],
        }
        b.objects.append(obj)


def _value_hmac(b: _Builder, identifier_type: str, value: str) -> str:
    return identifiers.keyed_hash(key=b.key, identifier_type=identifier_type, value=value)


def _summary_row(v: Value, b: _Builder) -> dict:
    display = v.value
    if v.kind == "email":
        display = "HMAC " + _value_hmac(b, identifiers.EMAIL, v.value)[:16] + "…"
    elif v.kind == "payment":
        display = "HMAC " + _value_hmac(b, identifiers.PAYMENT, v.value)[:16] + "…"
    elif v.kind == "simhash":
        display = simhash_hex(v.value)
    return {
        "kind": v.kind,
        "label": KIND_LABELS.get(v.kind, v.kind),
        "display": display,
        "accounts": len(v.accounts),
        "events": v.events,
        "outside": v.outside_accounts,
    }


def _private_values(collected: Collected) -> list[str]:
    """Strings that must never appear in the bundle (checked by lint): ids, e-mails, a sample of excerpts."""
    excerpts = (
        UsageEvent.objects.filter(account_id__in=[a.pk for a in collected.accounts])
        .exclude(prompt_excerpt="")
        .values_list("prompt_excerpt", flat=True)[:PRIVATE_EXCERPT_SAMPLE]
    )
    out: list[str] = [e for e in excerpts if len(e) >= 12]
    for account, _ in collected.withheld_accounts:
        out.append(account.account_id)
    for account in collected.accounts:
        out.append(account.account_id)
        if account.email:
            out.append(account.email)
    return out


def _observation(b: _Builder, v: Value) -> tuple[str, dict | None]:
    """The pattern comparison and the SCO for one value."""
    k, val = v.kind, v.value
    if k == "ip":
        t = "ipv6-addr" if ":" in val else "ipv4-addr"
        return f"{t}:value = {_quote(val)}", None  # the SCO is made with its AS refs in _observables
    if k == "asn":
        return f"autonomous-system:number = {int(val)}", b.sco("autonomous-system", {"number": int(val)}, {})
    if k in ("email", "payment"):
        itype = identifiers.EMAIL if k == "email" else identifiers.PAYMENT
        h = _value_hmac(b, itype, val)
        contributing = {"identifier_type": itype, "key_id": b.community.key_id, "value_hmac": h}
        sco = b.sco(
            "hashed-identifier",
            contributing,
            {"algorithm": "HMAC-SHA-256", "normalization": identifiers.normalization_name(itype)},
            level=b.strict_level,
            ext=EXT_HASHED_IDENTIFIER,
        )
        return (
            f"hashed-identifier:identifier_type = '{itype}' AND hashed-identifier:key_id = "
            f"{_quote(b.community.key_id)} AND hashed-identifier:value_hmac = '{h}'"
        ), sco
    if k == "user-agent":
        return f"network-traffic:extensions.'http-request-ext'.request_header.'User-Agent' = {_quote(val)}", None
    if k == "ja4":
        sco = b.sco("client-fingerprint", {"kind": "ja4", "value": val}, {}, ext=EXT_CLIENT_FINGERPRINT)
        return f"client-fingerprint:kind = 'ja4' AND client-fingerprint:value = {_quote(val)}", sco
    if k in ("system-prompt", "tools"):
        sco = b.sco("prompt-fingerprint", {"kind": k, "sha256": val}, {}, ext=EXT_PROMPT_FINGERPRINT)
        return f"prompt-fingerprint:kind = '{k}' AND prompt-fingerprint:sha256 = '{val}'", sco
    if k == "simhash":
        hx = simhash_hex(val)
        sco = b.sco("prompt-fingerprint", {"kind": "prompt", "simhash64": hx}, {}, ext=EXT_PROMPT_FINGERPRINT)
        return f"prompt-fingerprint:kind = 'prompt' AND prompt-fingerprint:simhash64 = '{hx}'", sco
    raise ValueError(f"unknown kind {k}")


_INDICATOR_META = {
    # kind: (indicator_types, confidence, validity multiplier, description)
    "ip": (["anonymization"], 60, 1, "Proxy egress or sign-up address; short validity because proxy IPs churn."),
    "asn": (["anonymization"], 40, 1, "Autonomous system rarely used by legitimate accounts; a weak signal."),
    "email": (["malicious-activity"], 85, 6, "Keyed hash of a sign-up e-mail of a confirmed account."),
    "payment": (["malicious-activity"], 90, 6, "Keyed hash of a payment fingerprint funding confirmed accounts."),
    "user-agent": (["malicious-activity"], 55, 3, "Client user agent specific to the operator's tooling."),
    "ja4": (["malicious-activity"], 55, 3, "TLS client fingerprint specific to the operator's tooling."),
    "system-prompt": (["malicious-activity"], 75, 6, "System prompt used by the operator's harvesting harness."),
    "tools": (["malicious-activity"], 75, 6, "Tool definitions of the operator's harvesting harness."),
    "simhash": (["malicious-activity"], 65, 6, "SimHash of a templated prompt sent by several confirmed accounts."),
}


def _observables_and_indicators(b: _Builder, shared: list[Value], campaign: dict, now: datetime) -> None:
    days = settings.SHARING_INDICATOR_VALIDITY_DAYS
    as_objects = {}
    ips = []
    by_kind: dict[str, list[Value]] = {}
    for v in shared:
        by_kind.setdefault(v.kind, []).append(v)
    for v in by_kind.get("asn", []):
        as_objects[v.value] = None
    for kind, values in by_kind.items():
        indicator_types, confidence, mult, description = _INDICATOR_META.get(kind, (["malicious-activity"], 50, 1, ""))
        if kind == "email-domain":
            for v in values:
                b.sco("domain-name", {"value": v.value}, {})
                _indicator(
                    b,
                    f"indicator:{b.scope}:email-domain:{v.value}",
                    f"Bulk sign-up e-mail domain {v.value}",
                    f"[email-addr:value LIKE {_quote('%@' + v.value)}] OR [domain-name:value = {_quote(v.value)}]",
                    [v],
                    ["malicious-activity"],
                    80,
                    days * 6,
                    campaign,
                    f"{len(v.accounts)} confirmed accounts signed up with this domain.",
                )
            continue
        level = b.strict_level if kind in ("email", "payment") else None
        for start in range(0, len(values), CHUNK):
            chunk = values[start : start + CHUNK]
            comparisons = []
            for v in chunk:
                comparison, _ = _observation(b, v)
                comparisons.append(comparison)
            if kind in ("ip", "asn") and len({c.split(":")[0] for c in comparisons}) == 1:
                pattern = "[" + " OR ".join(comparisons) + "]"
            else:
                pattern = " OR ".join(f"[{c}]" for c in comparisons)
            _indicator(
                b,
                f"indicator:{b.scope}:{kind}:{start // CHUNK}",
                f"{KIND_LABELS[kind]} ({start + 1}-{start + len(chunk)} of {len(values)})",
                pattern,
                chunk,
                indicator_types,
                confidence,
                days * mult,
                campaign,
                description,
                level=level,
            )
        if kind == "ip":
            ips = values
    if ips:
        infra = b.sdo(
            "infrastructure",
            f"infrastructure:{b.scope}",
            {"name": "Proxy network of the operator", "infrastructure_types": ["anonymization"]},
        )
        b.relationship("uses", campaign, infra)
        as_ids = {}
        for asn in as_objects:
            as_ids[asn] = stix_ids.sco_id("autonomous-system", {"number": int(asn)})
        for v in ips:
            t = "ipv6-addr" if ":" in v.value else "ipv4-addr"
            refs = sorted(as_ids[a] for a in v.asns if a in as_ids)
            ip_obj = b.sco(t, {"value": v.value}, {"belongs_to_refs": refs} if refs else {})
            b.relationship("consists-of", infra, ip_obj)


def _indicator(
    b: _Builder,
    key: str,
    name: str,
    pattern: str,
    values: list[Value],
    indicator_types: list[str],
    confidence: int,
    days: int,
    campaign: dict,
    description: str,
    *,
    level: str | None = None,
) -> None:
    firsts = [v.first_seen for v in values if v.first_seen]
    lasts = [v.last_seen for v in values if v.last_seen]
    first = min(firsts) if firsts else None
    last = max(lasts) if lasts else None
    anchor = last or first or timezone.now().replace(hour=0, minute=0, second=0, microsecond=0)
    valid_from = first or anchor
    indicator = b.sdo(
        "indicator",
        key,
        {
            "name": name,
            "description": description,
            "indicator_types": indicator_types,
            "pattern": pattern,
            "pattern_type": "stix",
            "pattern_version": "2.1",
            "valid_from": stix_time(valid_from),
            "valid_until": stix_time(max(anchor, valid_from) + timedelta(days=days)),
            "confidence": confidence,
            "kill_chain_phases": [{"kill_chain_name": "mitre-atlas", "phase_name": "ai-model-access"}],
        },
        level=level,
    )
    b.relationship("indicates", indicator, campaign)
    events = sum(v.events for v in values)
    accounts = len(set().union(*(v.accounts for v in values)))
    sighting = {
        "sighting_of_ref": indicator["id"],
        "count": max(events, accounts),
        "where_sighted_refs": [b.identity_id],
    }
    if first and last:
        sighting["first_seen"], sighting["last_seen"] = stix_time(first), stix_time(max(first, last))
    b.sdo("sighting", f"sighting:{key}", sighting, level=level)


def _accounts(b: _Builder, accounts: list[Account]) -> None:
    for account in accounts:
        user_id = _value_hmac(b, identifiers.ACCOUNT, account.account_id)
        props: dict = {"is_disabled": account.is_banned}
        if account.created_at:
            props["account_created"] = stix_time(account.created_at)
        b.sco("user-account", {"user_id": user_id}, props, level=b.strict_level)
