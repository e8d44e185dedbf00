"""Poll a partner's TAXII 2.1 collection with the reference client and import what is new.

TAXII re-serializes objects, so a bundle signature cannot travel with them; when the partner's
key is on file we fetch the partner's signed manifest (Hydra Watch servers publish one at
`{collection}/signed-manifest/`), verify it, and import only objects whose canonical SHA-256 it lists.
"""

from __future__ import annotations

import json
import uuid

import requests
from django.utils import timezone
from taxii2client.v21 import Collection, as_pages

from investigations.sharing import importer, signing
from investigations.sharing.models import Partner, PartnerImport
from investigations.sharing.validation import BundleRejected

PAGE = 1000
TAXII_ACCEPT = "application/taxii+json;version=2.1"


class PollFailed(RuntimeError):
    """The partner's server could not be read; the message is stored on the partner."""


def _signed_hashes(partner: Partner) -> set[str]:
    url = partner.poll_url.rstrip("/") + "/signed-manifest/"
    response = requests.get(
        url, auth=(partner.poll_username, partner.poll_password), headers={"Accept": TAXII_ACCEPT}, timeout=60
    )
    if response.status_code != 200:
        raise BundleRejected(f"{partner.name} has a signing key on file but serves no signed manifest ({url}).")
    body = response.json()
    try:
        signing.verify(body["manifest"], body["signature"], partner.public_jwk)
    except (KeyError, TypeError, signing.SignatureError) as exc:
        raise BundleRejected(f"{partner.name}'s signed manifest does not verify: {exc}") from exc
    return {entry["sha256"] for entry in body["manifest"].get("objects", [])}


def poll_partner(*, partner: Partner) -> PartnerImport | None:
    """Fetch objects added since the last poll and import them as one bundle; None when nothing is new."""
    collection = Collection(
        partner.poll_url, user=partner.poll_username or None, password=partner.poll_password or None
    )
    filters = {"added_after": partner.last_poll_added} if partner.last_poll_added else {}
    objects: list[dict] = []
    last_added = partner.last_poll_added
    try:
        for page in as_pages(collection.get_manifest, per_request=PAGE, **filters):
            for entry in page.get("objects", []):
                last_added = max(last_added, entry.get("date_added", ""))
        for page in as_pages(collection.get_objects, per_request=PAGE, **filters):
            objects.extend(page.get("objects", []))
    except (requests.RequestException, ValueError) as exc:
        raise PollFailed(f"Could not read {partner.poll_url}: {exc}") from exc
    if not objects:
        return None
    if partner.public_jwk:
        signed = _signed_hashes(partner)
        unsigned = [o.get("id") for o in objects if signing.sha256_canonical(o) not in signed]
        if unsigned:
            raise BundleRejected(
                f"{len(unsigned)} objects are not in {partner.name}'s signed manifest (first: {str(unsigned[0])[:80]})."
            )
    bundle = {"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "objects": objects}
    record = importer.import_bundle(
        partner=partner,
        raw=json.dumps(bundle).encode(),
        jws=None,
        actor=None,
        source=PartnerImport.Source.TAXII,
        filename=partner.poll_url,
        manifest_verified=bool(partner.public_jwk),
    )
    Partner.objects.filter(pk=partner.pk).update(
        last_polled_at=timezone.now(), last_poll_added=last_added, last_poll_error=""
    )
    return record
