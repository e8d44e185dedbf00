"""The TAXII 2.1 server, read by the OASIS reference client over real HTTP."""

from __future__ import annotations

import pytest
from taxii2client.v21 import Server, as_pages

from investigations.sharing.models import TaxiiObject
from tests.sharing.factories import PartnerFactory, SharingCommunityFactory

pytestmark = pytest.mark.django_db

ACCEPT = {"HTTP_ACCEPT": "application/taxii+json;version=2.1"}


def basic(username: str, password: str = "partner-pw") -> dict:
    import base64

    return {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()}


# A live server needs committed data.
@pytest.mark.django_db(transaction=True)
def test_taxii2_client_reads_every_collection_page_by_page(live_server, publication, community):
    other = SharingCommunityFactory(name="Closed circle", key_id="test-2026")
    partner = PartnerFactory(username="labx", communities=[community])
    PartnerFactory(username="laby", communities=[other])
    server = Server(f"{live_server.url}/taxii2/", user=partner.username, password="partner-pw")
    assert len(server.api_roots) == 1
    root = server.api_roots[0]
    assert [c.title for c in root.collections] == ["AI-ISAC"]  # not the closed circle
    coll = root.collections[0]
    assert coll.can_read and not coll.can_write
    fetched = []
    pages = 0
    for envelope in as_pages(coll.get_objects, per_request=7):
        pages += 1
        fetched += envelope.get("objects", [])
    stored = {o["id"]: o for o in publication.bundle["objects"]}
    assert pages > 1
    assert {o["id"] for o in fetched} == set(stored)
    assert all(o == stored[o["id"]] for o in fetched)  # objects round-trip unchanged
    manifest = [m for page in as_pages(coll.get_manifest, per_request=50) for m in page.get("objects", [])]
    assert len(manifest) == len(stored)
    one = fetched[0]["id"]
    assert coll.get_object(one)["objects"][0]["id"] == one
    indicators = coll.get_objects(type="indicator")["objects"]
    assert indicators and all(o["type"] == "indicator" for o in indicators)


def test_wrong_accept_gets_406_and_no_credentials_401(client, publication, community):
    partner = PartnerFactory(username="labz", communities=[community])
    url = f"/taxii2/hydra/collections/{community.collection_id}/objects/"
    assert client.get(url, HTTP_ACCEPT="application/json", **basic(partner.username)).status_code == 406
    response = client.get(url, **ACCEPT)
    assert response.status_code == 401 and "Basic" in response["WWW-Authenticate"]
    assert client.get(url, **ACCEPT, **basic(partner.username, "wrong")).status_code == 401
    ok = client.get(url, **ACCEPT, **basic(partner.username))
    assert ok.status_code == 200
    assert ok["Content-Type"] == "application/taxii+json;version=2.1"
    assert ok["X-TAXII-Date-Added-First"] and ok["X-TAXII-Date-Added-Last"]


def test_partner_cannot_read_a_collection_not_shared_with_it(client, publication, community):
    outsider = PartnerFactory(username="outsider", communities=[])
    url = f"/taxii2/hydra/collections/{community.collection_id}/objects/"
    assert client.get(url, **ACCEPT, **basic(outsider.username)).status_code == 404


def test_filters_added_after_and_versions(client, publication, community, analyst, lead, confirmed_case):
    from investigations.sharing import services

    partner = PartnerFactory(username="labv", communities=[community])
    base = f"/taxii2/hydra/collections/{community.collection_id}/"
    first = client.get(base + "objects/", **ACCEPT, **basic(partner.username))
    last_added = first["X-TAXII-Date-Added-Last"]
    # A new account is confirmed: the re-export updates objects (same ids, newer versions) and adds new ones.
    from tests.accounts.factories import AccountFactory
    from tests.investigations.factories import CaseMembershipFactory

    CaseMembershipFactory(case=confirmed_case.case, account=AccountFactory(email="late@relay-mail.example"))
    again = services.publication_request(cases=[confirmed_case.case], community=community, level="amber", actor=analyst)
    services.publication_approve(publication=again, actor=lead)
    newer = client.get(base + "objects/", {"added_after": last_added}, **ACCEPT, **basic(partner.username)).json()
    assert newer["objects"] and all(o["id"] for o in newer["objects"])
    report_id = next(o["id"] for o in newer["objects"] if o["type"] == "report")
    versions = client.get(base + f"objects/{report_id}/versions/", **ACCEPT, **basic(partner.username)).json()
    assert len(versions["versions"]) == 2
    all_versions = client.get(
        base + "objects/", {"match[id]": report_id, "match[version]": "all"}, **ACCEPT, **basic(partner.username)
    ).json()
    assert len(all_versions["objects"]) == 2
    assert TaxiiObject.objects.filter(stix_id=report_id, is_latest=True).count() == 1


def test_signed_manifest_verifies(client, publication, community):
    from investigations.sharing import signing

    partner = PartnerFactory(username="labw", communities=[community])
    body = client.get(
        f"/taxii2/hydra/collections/{community.collection_id}/signed-manifest/", **ACCEPT, **basic(partner.username)
    ).json()
    signing.verify(body["manifest"], body["signature"], body["jwk"])
    hashes = {e["id"]: e["sha256"] for e in body["manifest"]["objects"]}
    assert all(hashes[o["id"]] == signing.sha256_canonical(o) for o in publication.bundle["objects"])
