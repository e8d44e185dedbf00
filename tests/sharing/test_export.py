"""Exported bundles pass the OASIS validator, stix2.parse and the profile's lint, and share only what they should."""

from __future__ import annotations

import json

import pytest

from investigations.sharing import lint
from investigations.sharing.export import build_export
from investigations.sharing.models import Tlp
from investigations.sharing.tlp import TLP2_IDS
from tests.sharing.conftest import OPERATOR_JA4, OPERATOR_UA, SYSTEM_PROMPT
from tests.sharing.stixcheck import assert_profile_compliant

pytestmark = pytest.mark.django_db


def test_it_exports_a_profile_compliant_bundle(confirmed_case, community):
    export = build_export(cases=[confirmed_case.case], community=community, level=Tlp.AMBER)
    assert_profile_compliant(export.bundle, export.private_values)
    types = {o["type"] for o in export.bundle["objects"]}
    assert {
        "identity",
        "campaign",
        "intrusion-set",
        "report",
        "indicator",
        "sighting",
        "attack-pattern",
        "infrastructure",
        "hashed-identifier",
        "prompt-fingerprint",
        "client-fingerprint",
        "user-account",
        "domain-name",
        "ipv4-addr",
    } <= types


def test_it_shares_only_specific_values_of_confirmed_accounts(confirmed_case, community):
    export = build_export(cases=[confirmed_case.case], community=community)
    text = json.dumps(export.bundle)
    shared = {(row["kind"], row["display"]) for row in export.included}
    withheld = {(row["kind"], row["display"]): row["reason"] for row in export.withheld}
    assert ("ip", "203.0.113.17") in shared
    assert ("user-agent", OPERATOR_UA) in shared and ("ja4", OPERATOR_JA4) in shared
    assert ("system-prompt", SYSTEM_PROMPT) in shared
    assert ("email-domain", "relay-mail.example") in shared
    # The popular SDK and the big cloud ASN are used by 8 bystanders: withheld, with the reason.
    assert "outside the confirmed set" in withheld[("user-agent", "python-httpx/0.27")]
    assert "outside the confirmed set" in withheld[("asn", "16509")]
    assert "python-httpx" not in text
    # The member of another, unconfirmed case is not in; no account id or e-mail appears anywhere.
    for account in [*confirmed_case.operator, confirmed_case.unconfirmed]:
        assert account.account_id not in text
        assert account.email not in text


def test_hashed_identifiers_are_amber_strict_and_reexport_keeps_ids(confirmed_case, community):
    first = build_export(cases=[confirmed_case.case], community=community, level=Tlp.GREEN)
    for obj in first.bundle["objects"]:
        if obj["type"] == "hashed-identifier":
            assert obj["object_marking_refs"] == [TLP2_IDS[Tlp.AMBER_STRICT]]
    again = build_export(cases=[confirmed_case.case], community=community, level=Tlp.GREEN)
    ids = lambda e: sorted(o["id"] for o in e.bundle["objects"])  # noqa: E731
    assert ids(first) == ids(again)


def test_lint_catches_what_the_validator_misses(confirmed_case, community):
    export = build_export(cases=[confirmed_case.case], community=community)
    bundle = json.loads(json.dumps(export.bundle))
    bundle["objects"][-1]["object_marking_refs"] = ["marking-definition--00000000-0000-4000-8000-000000000000"]
    bundle["objects"][-2]["description"] = f"seen on {confirmed_case.operator[0].email}"
    bundle["objects"][-3]["created_by_ref"] = "identity--11111111-1111-4111-8111-111111111111"
    problems = lint.lint_bundle(bundle, private_values=export.private_values)
    assert any("not an official TLP 2.0 id" in p for p in problems)
    assert any("e-mail address" in p for p in problems)
    assert any("does not resolve" in p for p in problems)


def test_rarity_from_the_detection_index_agrees_with_the_event_scan(confirmed_case, community):
    from investigations.detection.indicators import indicators_refresh

    scanned = build_export(cases=[confirmed_case.case], community=community)
    indicators_refresh()
    indexed = build_export(cases=[confirmed_case.case], community=community)
    key = lambda rows: sorted((r["kind"], r["display"], r.get("reason", "")) for r in rows)  # noqa: E731
    assert key(indexed.included) == key(scanned.included)
    assert key(indexed.withheld) == key(scanned.withheld)


def test_values_a_partner_sent_under_amber_are_not_re_shared(confirmed_case, community, lead):
    from investigations.sharing import importer
    from tests.sharing.factories import PartnerFactory
    from tests.sharing.test_import import INDICATOR, _bundle_with

    pattern = f"[network-traffic:extensions.'http-request-ext'.request_header.'User-Agent' = '{OPERATOR_UA}']"
    amber = "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421"
    raw = _bundle_with({**INDICATOR, "pattern": pattern, "object_marking_refs": [amber]})
    importer.import_bundle(partner=PartnerFactory(name="Lab Amber"), raw=raw, jws=None, actor=lead, source="upload")
    export = build_export(cases=[confirmed_case.case], community=community)
    withheld = {(r["kind"], r["display"]): r["reason"] for r in export.withheld}
    assert "Lab Amber" in withheld[("user-agent", OPERATOR_UA)]
    assert OPERATOR_UA not in json.dumps(export.bundle)
