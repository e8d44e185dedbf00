"""Partner import: the example bundle, our own export round-tripped into a fresh state, bad bundles."""

from __future__ import annotations

import json

import pytest

from accounts.models import Account, UsageEvent
from investigations.models import Alert, AuditEntry, Case
from investigations.sharing import importer, signing
from investigations.sharing.export import build_export
from investigations.sharing.models import PartnerImport, PartnerIndicator, PartnerMatch
from tests.accounts.factories import AccountFactory, UsageEventFactory
from tests.sharing.conftest import OPERATOR_JA4, OPERATOR_UA, SYSTEM_PROMPT
from tests.sharing.factories import PartnerFactory

pytestmark = pytest.mark.django_db


def test_it_imports_the_example_bundle_and_matches_ip_network_and_domain(shared_dir, lead):
    raw = (shared_dir / "samples" / "example-bundle.stix.json").read_bytes()
    proxy_user = AccountFactory(email="x@elsewhere.example")
    UsageEventFactory(account=proxy_user, ip="203.0.113.17", asn=1)
    subnet_user = AccountFactory(email="y@elsewhere.example")
    UsageEventFactory(account=subnet_user, ip="198.51.100.77", asn=1)
    signup = AccountFactory(email="new.one@relay-mail.example")
    AccountFactory(email="innocent@gmail.com")
    partner = PartnerFactory(name="Example Frontier Lab")

    record = importer.import_bundle(partner=partner, raw=raw, jws=None, actor=lead, source="upload")

    assert record.signature == PartnerImport.Signature.UNSIGNED
    assert record.indicator_count == 6
    kinds = set(PartnerIndicator.objects.values_list("kind", flat=True))
    assert {"ipv4", "asn", "email-domain", "email-hmac", "payment-hmac", "prompt-sha256"} <= kinds
    hashed = PartnerIndicator.objects.get(kind="email-hmac")
    assert hashed.tlp == "amber+strict" and hashed.key_id == "aiisac-2026Q2"
    matched = set(PartnerMatch.objects.values_list("account_id", flat=True))
    assert signup.pk in matched
    # The example's proxy IP and network indicators expired (valid_until 2026-07-01): stored, never matched.
    assert PartnerIndicator.objects.filter(kind="ipv4").count() == 2
    assert proxy_user.pk not in matched and subnet_user.pk not in matched
    alert = Alert.objects.get(account=signup, detector="partner:email-domain")
    assert alert.source == Alert.Source.PARTNER and alert.alert_id.startswith("hw:partner:")
    assert "indicator--ec20c0ff-52f6-420c-8546-22cfe7fdcdca" in alert.summary
    assert AuditEntry.objects.filter(action="sharing.partner_bundle_imported").count() == 1
    # Importing the same bundle again raises no duplicate alerts.
    importer.import_bundle(partner=partner, raw=raw, jws=None, actor=lead, source="upload")
    assert Alert.objects.filter(account=signup, detector="partner:email-domain").count() == 1


@pytest.mark.parametrize("with_detection_index", [False, True])
def test_round_trip_our_signed_export_into_a_fresh_state_finds_the_operator(
    confirmed_case, community, lead, with_detection_index
):
    export = build_export(cases=[confirmed_case.case], community=community)
    raw = json.dumps(export.bundle, indent=2).encode()
    jws = signing.sign(export.bundle)
    ours = signing.public_jwk()
    emails = [a.email for a in confirmed_case.operator]
    # A fresh instance at the partner: none of our rows, only the operator returning with the same identity.
    Case.objects.all().delete()
    UsageEvent.objects.all().delete()
    Account.objects.all().delete()
    returning = AccountFactory(email=emails[2].upper(), payment_fingerprint="pf_unrelated")
    UsageEventFactory(
        account=returning,
        ip="100.64.9.9",
        asn=1,
        user_agent=OPERATOR_UA,
        ja4=OPERATOR_JA4,
        system_prompt_sha256=SYSTEM_PROMPT,
    )
    payer = AccountFactory(email="fresh@example.org", payment_fingerprint="pf_shared_card_1")
    AccountFactory(email="bystander@example.org")
    partner = PartnerFactory(name="Us, as seen by a partner", public_jwk=ours)
    if with_detection_index:
        from investigations.detection.indicators import indicators_refresh

        indicators_refresh()

    record = importer.import_bundle(partner=partner, raw=raw, jws=jws, actor=lead, source="upload")

    assert record.signature == PartnerImport.Signature.VERIFIED
    on = {(m.indicator.kind, m.account_id) for m in PartnerMatch.objects.select_related("indicator")}
    assert ("email-hmac", returning.pk) in on  # keyed hash of the e-mail, after email-v1 normalization
    assert ("payment-hmac", payer.pk) in on
    assert {("user-agent", returning.pk), ("ja4", returning.pk), ("system-prompt", returning.pk)} <= on
    assert not Alert.objects.exclude(account__in=[returning, payer]).exists()


def test_a_one_byte_change_is_rejected_and_a_reserialized_bundle_verifies(confirmed_case, community):
    export = build_export(cases=[confirmed_case.case], community=community)
    jws = signing.sign(export.bundle)
    reserialized = json.dumps(json.loads(json.dumps(export.bundle)), indent=4, sort_keys=True).encode()
    signing.verify_bytes(reserialized, jws)
    raw = bytearray(json.dumps(export.bundle).encode())
    index = raw.index(b'"confidence": ') + len(b'"confidence": ')
    raw[index] = ord("1") if raw[index] != ord("1") else ord("2")
    with pytest.raises(signing.SignatureError):
        signing.verify_bytes(bytes(raw), jws)
    other = signing.public_jwk(signing.load_private_key("A" * 43 + "=").public_key())
    with pytest.raises(signing.SignatureError):
        signing.verify(export.bundle, jws, other)


def _bundle_with(obj: dict) -> bytes:
    return json.dumps(
        {"type": "bundle", "id": "bundle--6b1f7e8e-2a47-4d3b-9a45-4c2f3d1e0a11", "objects": [obj]}
    ).encode()


INDICATOR = {
    "type": "indicator",
    "spec_version": "2.1",
    "id": "indicator--0c9a5e4e-5d36-4cbb-9f6e-1d7b7f0e2a11",
    "created": "2026-06-01T00:00:00.000Z",
    "modified": "2026-06-01T00:00:00.000Z",
    "name": "proxy",
    "pattern": "[ipv4-addr:value = '203.0.113.5']",
    "pattern_type": "stix",
    "valid_from": "2026-06-01T00:00:00Z",
}


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"\x89PNG not json", "not JSON"),
        (b'{"type": "report", "objects": []}', "not a STIX 2.1 bundle"),
        (_bundle_with({**INDICATOR, "id": "indicator--nope"}), "id must be"),
        (_bundle_with({**INDICATOR, "pattern_type": "stix", "valid_from": "yesterday"}), "valid_from"),
        (_bundle_with({**INDICATOR, "name": "<script>alert(1)</script>"}), "markup or script"),
        (_bundle_with({**INDICATOR, "description": '<img src=x onerror="x()">'}), "markup or script"),
        (
            _bundle_with(
                {**INDICATOR, "object_marking_refs": ["marking-definition--11111111-2222-4333-8444-555555555555"]}
            ),
            "not a known TLP id",
        ),
        (
            _bundle_with(
                {
                    "type": "marking-definition",
                    "spec_version": "2.1",
                    "name": "TLP:PURPLE",
                    "id": "marking-definition--11111111-2222-4333-8444-555555555555",
                    "created": "2022-10-01T00:00:00.000Z",
                    "definition_type": "tlp",
                    "definition": {"tlp": "purple"},
                }
            ),
            "claims to be TLP",
        ),
        (_bundle_with({**INDICATOR, "pattern": "[ipv4-addr:value = "}), "OASIS validator"),
    ],
)
def test_bad_bundles_are_rejected_and_change_nothing(raw, message, lead):
    partner = PartnerFactory()
    with pytest.raises(importer.BundleRejected, match=message):
        importer.import_bundle(partner=partner, raw=raw, jws=None, actor=lead, source="upload")
    assert not PartnerImport.objects.exists() and not PartnerIndicator.objects.exists()
    assert not AuditEntry.objects.filter(action="sharing.partner_bundle_imported").exists()


def test_oversized_and_unsigned_bundles_from_a_signing_partner_are_rejected(settings, lead):
    settings.SHARING_MAX_BUNDLE_BYTES = 100
    with pytest.raises(importer.BundleRejected, match="over the limit"):
        importer.import_bundle(
            partner=PartnerFactory(), raw=_bundle_with(INDICATOR), jws=None, actor=lead, source="upload"
        )
    settings.SHARING_MAX_BUNDLE_BYTES = 10_000
    signer = PartnerFactory(public_jwk=signing.public_jwk())
    with pytest.raises(importer.BundleRejected, match="signature"):
        importer.import_bundle(partner=signer, raw=_bundle_with(INDICATOR), jws=None, actor=lead, source="upload")
    forged = signing.sign({"something": "else"})
    with pytest.raises(importer.BundleRejected, match="does not verify"):
        importer.import_bundle(partner=signer, raw=_bundle_with(INDICATOR), jws=forged, actor=lead, source="upload")
    assert not PartnerImport.objects.exists()


def test_tlp1_markings_are_accepted_and_ip_networks_match(lead):
    amber_v1 = "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82"
    single = AccountFactory()
    UsageEventFactory(account=single, ip="203.0.113.5")
    in_net = AccountFactory()
    UsageEventFactory(account=in_net, ip="198.51.100.77")
    pattern = "[ipv4-addr:value = '203.0.113.5' OR ipv4-addr:value = '198.51.100.0/24']"
    record = importer.import_bundle(
        partner=PartnerFactory(),
        raw=_bundle_with({**INDICATOR, "pattern": pattern, "object_marking_refs": [amber_v1]}),
        jws=None,
        actor=lead,
        source="upload",
    )
    assert set(PartnerIndicator.objects.filter(partner_import=record).values_list("tlp", flat=True)) == {"amber"}
    assert set(PartnerMatch.objects.values_list("account_id", flat=True)) == {single.pk, in_net.pk}
