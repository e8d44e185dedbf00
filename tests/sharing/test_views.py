"""Sharing pages: permissions, preview, four-eyes approval, downloads, import upload, partners."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from investigations.models import AuditEntry, CaseMembership
from investigations.sharing import signing
from investigations.sharing.models import Partner, Publication, TaxiiObject
from tests.sharing.factories import PartnerFactory

pytestmark = pytest.mark.django_db


def test_viewers_cannot_open_sharing(client, viewer):
    client.force_login(viewer)
    assert client.get(reverse("sharing-home")).status_code == 403
    assert client.get(reverse("sharing-imports")).status_code == 403


def test_preview_shows_shared_and_withheld_and_a_lead_approves(client, analyst, lead, lead2, confirmed_case, community):
    client.force_login(analyst)
    params = {"cases": str(confirmed_case.case.pk), "community": community.pk, "tlp": "amber"}
    page = client.get(reverse("sharing-preview"), params)
    assert page.status_code == 200
    body = page.content.decode()
    assert "relay-mail.example" in body and "python-httpx/0.27" in body and "outside the confirmed set" in body
    assert "confirmed attack" in body  # the sharing rule is spelled out
    partial = client.get(reverse("sharing-preview"), params, headers={"HX-Request": "true"})
    assert partial.status_code == 200 and b"<html" not in partial.content and b'id="preview-body"' in partial.content

    response = client.post(reverse("sharing-preview"), {**params, "reason": "ISAC asked"})
    publication = Publication.objects.get()
    assert response.status_code == 302 and publication.status == Publication.Status.PENDING_APPROVAL
    # The requester cannot download or approve; an analyst gets 403 on the decision.
    assert client.get(reverse("sharing-bundle", args=[publication.pk])).status_code == 404
    assert (
        client.post(reverse("sharing-publication", args=[publication.pk]), {"decision": "approve"}).status_code == 403
    )

    client.force_login(lead)
    client.post(reverse("sharing-publication", args=[publication.pk]), {"decision": "approve", "reason": "ok"})
    publication.refresh_from_db()
    assert publication.status == Publication.Status.PUBLISHED and publication.decided_by == lead
    assert TaxiiObject.objects.filter(publication=publication).count() == len(publication.bundle["objects"])
    bundle = client.get(reverse("sharing-bundle", args=[publication.pk]))
    jws = client.get(reverse("sharing-signature", args=[publication.pk])).content.decode()
    signing.verify_bytes(b"".join(bundle.streaming_content) if bundle.streaming else bundle.content, jws)
    misp = json.loads(client.get(reverse("sharing-misp", args=[publication.pk])).content)["Event"]
    assert any(a["value"] == "relay-mail.example" for a in misp["Attribute"])
    assert {"tlp:amber"} <= {t["name"] for t in misp["Tag"]}
    actions = set(AuditEntry.objects.values_list("action", flat=True))
    assert {"sharing.publication_requested", "sharing.publication_approved"} <= actions

    # The lead's own request needs another lead.
    client.post(reverse("sharing-preview"), params)
    own = Publication.objects.filter(status=Publication.Status.PENDING_APPROVAL).get()
    client.post(reverse("sharing-publication", args=[own.pk]), {"decision": "approve"})
    own.refresh_from_db()
    assert own.status == Publication.Status.PENDING_APPROVAL
    client.force_login(lead2)
    client.post(reverse("sharing-publication", args=[own.pk]), {"decision": "reject", "reason": "nothing new"})
    own.refresh_from_db()
    assert own.status == Publication.Status.REJECTED


def test_upload_shows_errors_inert_and_pulls_matches_into_a_case(client, analyst, shared_dir):
    from tests.accounts.factories import AccountFactory

    partner = PartnerFactory(name="Example Frontier Lab")
    client.force_login(analyst)
    bad = SimpleUploadedFile(
        "evil.json", b'{"type":"bundle","objects":[{"type":"indicator","id":"<script>x</script>"}]}'
    )
    response = client.post(reverse("sharing-imports"), {"partner": partner.pk, "bundle": bad})
    assert response.status_code == 200
    assert b"<script>x</script>" not in response.content and b"&lt;script&gt;" in response.content

    target = AccountFactory(email="victim@relay-mail.example")
    raw = (shared_dir / "samples" / "example-bundle.stix.json").read_bytes()
    response = client.post(
        reverse("sharing-imports"), {"partner": partner.pk, "bundle": SimpleUploadedFile("b.json", raw)}
    )
    assert response.status_code == 302
    detail = client.get(response["Location"])
    assert b"indicator--ec20c0ff-52f6-420c-8546-22cfe7fdcdca" in detail.content
    assert target.account_id.encode() in detail.content
    response = client.post(response["Location"], {"case": ""})
    membership = CaseMembership.objects.get(account=target)
    assert membership.source == CaseMembership.Source.PARTNER and response.status_code == 302


def test_partner_management_needs_manage_partners_and_is_audited(client, lead, community):
    from investigations.roles import Role
    from tests.conftest import make_user

    client.force_login(lead)
    assert client.get(reverse("sharing-partners")).status_code == 403
    admin = make_user("ada-admin", Role.ADMIN)
    client.force_login(admin)
    response = client.post(
        reverse("sharing-partners"),
        {
            "form": "partner",
            "name": "Lab B",
            "username": "lab-b",
            "communities": [community.pk],
            "public_jwk": json.dumps(signing.public_jwk()),
        },
    )
    assert response.status_code == 200
    partner = Partner.objects.get(username="lab-b")
    secret = response.context["secret"]
    assert partner.check_password(secret) and secret not in partner.password_hash
    assert AuditEntry.objects.filter(action="sharing.partner_created", object_id=str(partner.pk)).exists()


def test_jwks_needs_login_or_partner_credentials(client, analyst):
    assert client.get(reverse("sharing-jwks")).status_code == 401
    client.force_login(analyst)
    assert client.get(reverse("sharing-jwks")).json()["keys"][0]["alg"] == "EdDSA"


def test_case_page_links_to_the_sharing_preview(client, analyst, confirmed_case):
    client.force_login(analyst)
    page = client.get(confirmed_case.case.get_absolute_url())
    assert f"/sharing/preview/?cases={confirmed_case.case.pk}".encode() in page.content


def test_preview_from_the_case_page_defaults_to_the_only_community(client, analyst, confirmed_case, community):
    client.force_login(analyst)
    page = client.get(reverse("sharing-preview"), {"cases": confirmed_case.case.pk})
    assert page.status_code == 200 and page.context["export"].collected.accounts
