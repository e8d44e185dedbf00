"""The same bundle as a MISP event (PyMISP, offline), for partners who run MISP rather than a STIX consumer.

Built from the published STIX bundle itself, so the MISP event never carries more than the
approved bundle did: same values, same TLP, keyed hashes instead of e-mails.
"""

from __future__ import annotations

import json

from pymisp import MISPEvent

from investigations.sharing import patterns
from investigations.sharing.tlp import LEVEL_BY_ID

# MISP "distribution": 0 = your organisation only, 1 = this community only.
_DISTRIBUTION = {"clear": 1, "green": 1, "amber": 0, "amber+strict": 0, "red": 0}
_TYPES = {
    "ipv4": ("ip-src", "Network activity"),
    "ipv6": ("ip-src", "Network activity"),
    "asn": ("AS", "Network activity"),
    "email-domain": ("domain", "Network activity"),
    "user-agent": ("user-agent", "Network activity"),
    "ja4": ("text", "Network activity"),
    "email-hmac": ("text", "Other"),
    "payment-hmac": ("text", "Other"),
    "system-prompt": ("sha256", "Payload delivery"),
    "tools": ("sha256", "Payload delivery"),
    "prompt-sha256": ("sha256", "Payload delivery"),
    "simhash": ("text", "Other"),
}


def misp_event(bundle: dict, *, tlp_level: str) -> dict:
    """A MISP event dict (ready for `json.dumps`) with one attribute per indicator value."""
    objects = bundle["objects"]
    report = next((o for o in objects if o["type"] == "report"), {})
    campaign = next((o for o in objects if o["type"] == "campaign"), {})
    event = MISPEvent()
    event.info = report.get("name") or campaign.get("name") or "Hydra Watch indicator bundle"
    event.distribution = _DISTRIBUTION.get(tlp_level, 0)
    event.threat_level_id = 2
    event.analysis = 2
    event.add_tag(f"tlp:{tlp_level}")
    event.add_tag('misp-galaxy:mitre-atlas-attack-pattern="Extract AI Model - AML.T0024.002"')
    if campaign.get("first_seen"):
        event.set_date(campaign["first_seen"][:10])
    for obj in objects:
        if obj["type"] != "indicator":
            continue
        level = next((LEVEL_BY_ID[r] for r in obj.get("object_marking_refs", []) if r in LEVEL_BY_ID), tlp_level)
        for value in patterns.values_of(obj["pattern"]):
            misp_type, category = _TYPES[value.kind]
            comment = f"{obj.get('name', '')} [{value.kind}]"
            if value.key_id:
                comment += f" HMAC-SHA-256 under community key {value.key_id}"
            attribute = event.add_attribute(
                misp_type, value.value, category=category, comment=comment[:250], to_ids=value.kind != "asn"
            )
            attribute.add_tag(f"tlp:{level}")
    return json.loads(event.to_json())
