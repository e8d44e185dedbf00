"""The command line (export_bundle, verify_bundle), the REST API, and polling a partner's TAXII feed."""

from __future__ import annotations

import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from rest_framework.test import APIClient

from investigations.models import Alert
from investigations.sharing import tasks
from investigations.sharing.models import Partner, PartnerImport, Publication
from tests.sharing.factories import PartnerFactory
from tests.sharing.stixcheck import assert_profile_compliant

pytestmark = pytest.mark.django_db


def test_export_and_verify_commands(publication, tmp_path, capsys):
    out = tmp_path / "bundle.json"
    case_id = publication.cases.get().pk
    call_command("export_bundle", str(case_id), "--out", str(out))
    assert json.loads(out.read_text()) == publication.bundle
    call_command("verify_bundle", str(out), f"{out}.jws")
    assert "Verified" in capsys.readouterr().out
    tampered = out.read_text().replace('"confidence": 6', '"confidence": 7', 1)
    (tmp_path / "bad.json").write_text(tampered)
    with pytest.raises(CommandError, match="NOT VERIFIED"):
        call_command("verify_bundle", str(tmp_path / "bad.json"), f"{out}.jws")
    fresh = tmp_path / "fresh.json"
    call_command("export_bundle", str(case_id), "--out", str(fresh), "--fresh", "--tlp", "green")
    assert_profile_compliant(json.loads(fresh.read_text()))
    call_command("verify_bundle", str(fresh), f"{fresh}.jws")


def test_api_request_decide_download_import(confirmed_case, community, analyst, lead, shared_dir):
    api = APIClient()
    api.force_authenticate(analyst)
    created = api.post(
        "/api/v1/sharing/publications/",
        {"cases": [confirmed_case.case.pk], "community": community.pk, "tlp": "amber"},
        format="json",
    )
    assert created.status_code == 201, created.content
    pid = created.json()["id"]
    assert api.post(f"/api/v1/sharing/publications/{pid}/decision/", {"decision": "approve"}).status_code == 403
    api.force_authenticate(lead)
    decided = api.post(f"/api/v1/sharing/publications/{pid}/decision/", {"decision": "approve"}, format="json")
    assert decided.status_code == 200 and decided.json()["status"] == "published"
    bundle = api.get(f"/api/v1/sharing/publications/{pid}/bundle/")
    assert bundle["X-Signature-JWS"] == Publication.objects.get(pk=pid).jws
    partner = PartnerFactory()
    with open(shared_dir / "samples" / "example-bundle.stix.json", "rb") as fh:
        imported = api.post("/api/v1/sharing/imports/", {"partner": partner.pk, "bundle": fh}, format="multipart")
    assert imported.status_code == 201 and imported.json()["indicators"] == 6
    bad = api.post("/api/v1/sharing/imports/", {"partner": partner.pk, "bundle": _file(b"nope")}, format="multipart")
    assert bad.status_code == 400 and "not JSON" in bad.json()["detail"]


def _file(content: bytes):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("x.json", content)


@pytest.mark.django_db(transaction=True)
def test_polling_a_partner_collection_imports_new_objects_once(live_server, confirmed_case, community, analyst, lead):
    """We poll our own TAXII server as if it were a partner's: the round trip over real HTTP, signed manifest."""
    from investigations.sharing import services, signing

    requested = services.publication_request(
        cases=[confirmed_case.case], community=community, level="amber", actor=analyst
    )
    services.publication_approve(publication=requested, actor=lead)
    reader = PartnerFactory(username="reader", communities=[community])
    source = Partner.objects.create(
        name="Mirror lab",
        username="mirror",
        password_hash="sha256$0",
        public_jwk=signing.public_jwk(),
        poll_url=f"{live_server.url}/taxii2/hydra/collections/{community.collection_id}/",
        poll_username=reader.username,
        poll_password="partner-pw",
    )
    tasks.poll_partner(source.pk)
    record = PartnerImport.objects.get(partner=source)
    assert record.source == PartnerImport.Source.TAXII and record.signature == PartnerImport.Signature.VERIFIED
    assert record.match_count > 0 and Alert.objects.filter(source=Alert.Source.PARTNER).exists()
    tasks.poll_partner(source.pk)  # nothing new since X-TAXII-Date-Added-Last: no second import
    assert PartnerImport.objects.filter(partner=source).count() == 1
    source.refresh_from_db()
    assert source.last_poll_added and not source.last_poll_error
