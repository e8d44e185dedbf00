"""TAXII 2.1 server: discovery, API root, collections, objects, manifest, versions, and a signed manifest.

One collection per sharing community. Partners authenticate with HTTP Basic and see only the
collections shared with them (others answer 404, so their existence is not revealed). Every
response is `application/taxii+json;version=2.1`; a request that does not accept it gets 406.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from functools import wraps

import orjson
from django.db.models import Q, QuerySet, TextField
from django.db.models.functions import Cast
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.dateparse import parse_datetime
from django.views.decorators.http import require_GET

from investigations.sharing import signing
from investigations.sharing.models import Partner, SharingCommunity, TaxiiObject
from investigations.sharing.taxii.auth import partner_from_request

TAXII_MEDIA_TYPE = "application/taxii+json;version=2.1"
STIX_MEDIA_TYPE = "application/stix+json;version=2.1"
API_ROOT = "hydra"
MAX_PAGE = 1000


def taxii_time(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _response(body: object, status: int = 200, headers: dict[str, str] | None = None) -> HttpResponse:
    response = HttpResponse(orjson.dumps(body), status=status, content_type=TAXII_MEDIA_TYPE)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def _error(status: int, title: str, description: str = "") -> HttpResponse:
    body = {"title": title, "http_status": str(status)}
    if description:
        body["description"] = description
    response = _response(body, status)
    if status == 401:
        response["WWW-Authenticate"] = 'Basic realm="Hydra Watch TAXII"'
    return response


def _accepts_taxii(request: HttpRequest) -> bool:
    """True when the Accept header names TAXII 2.1 JSON (`version` omitted means the latest, i.e. 2.1)."""
    for part in request.META.get("HTTP_ACCEPT", "").split(","):
        media, *params = [p.strip() for p in part.split(";")]
        if media.lower() != "application/taxii+json":
            continue
        options = dict(p.split("=", 1) for p in params if "=" in p)
        if options.get("version", "2.1") == "2.1":
            return True
    return False


def taxii_view(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Content negotiation (406), partner authentication (401) and GET-only for every endpoint."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        if not _accepts_taxii(request):
            return _error(406, "Not Acceptable", f"Send Accept: {TAXII_MEDIA_TYPE}")
        partner = partner_from_request(request)
        if partner is None:
            return _error(401, "Unauthorized", "HTTP Basic credentials of a partner are required.")
        return view(request, partner, *args, **kwargs)

    return require_GET(wrapper)


def _collections_for(partner: Partner) -> QuerySet[SharingCommunity]:
    return partner.communities.all().order_by("name")


def _collection(partner: Partner, collection_id: object) -> SharingCommunity | None:
    return _collections_for(partner).filter(collection_id=collection_id).first()


def _collection_body(community: SharingCommunity) -> dict:
    return {
        "id": str(community.collection_id),
        "title": community.name,
        "description": community.description or f"Indicators shared with {community.name}",
        "can_read": True,
        "can_write": False,
        "media_types": [STIX_MEDIA_TYPE],
    }


@taxii_view
def discovery(request: HttpRequest, partner: Partner) -> HttpResponse:
    root = request.build_absolute_uri(reverse("taxii-api-root"))
    return _response(
        {
            "title": "Hydra Watch TAXII 2.1",
            "description": "Indicators of distillation operators",
            "default": root,
            "api_roots": [root],
        }
    )


@taxii_view
def api_root(request: HttpRequest, partner: Partner) -> HttpResponse:
    from django.conf import settings

    return _response(
        {
            "title": "Hydra Watch",
            "versions": [TAXII_MEDIA_TYPE],
            "max_content_length": settings.SHARING_MAX_BUNDLE_BYTES,
        }
    )


@taxii_view
def collections(request: HttpRequest, partner: Partner) -> HttpResponse:
    return _response({"collections": [_collection_body(c) for c in _collections_for(partner)]})


@taxii_view
def collection(request: HttpRequest, partner: Partner, collection_id: object) -> HttpResponse:
    community = _collection(partner, collection_id)
    if community is None:
        return _error(404, "Collection not found")
    return _response(_collection_body(community))


class BadFilter(ValueError):
    pass


def _filtered(
    request: HttpRequest, community: SharingCommunity, *, object_id: str | None = None, default_version: str = "last"
) -> QuerySet[TaxiiObject]:
    """Apply `added_after`, `match[id|type|version|spec_version]` and the `next` cursor."""
    qs = TaxiiObject.objects.filter(community=community)
    params = request.GET
    if object_id is not None:
        qs = qs.filter(stix_id=object_id)
    if added_after := params.get("added_after"):
        ts = parse_datetime(added_after)
        if ts is None:
            raise BadFilter("added_after must be an RFC 3339 timestamp")
        qs = qs.filter(date_added__gt=ts)
    if ids := params.get("match[id]"):
        qs = qs.filter(stix_id__in=[i.strip() for i in ids.split(",")])
    if types := params.get("match[type]"):
        qs = qs.filter(stix_type__in=[t.strip() for t in types.split(",")])
    if (spec := params.get("match[spec_version]")) and "2.1" not in spec.split(","):
        qs = qs.none()
    versions = [v.strip() for v in params.get("match[version]", default_version).split(",") if v.strip()]
    if "all" not in versions:
        version_q = Q()
        for version in versions:
            if version == "last":
                version_q |= Q(is_latest=True)
            elif version == "first":
                version_q |= Q(is_first=True)
            else:
                if parse_datetime(version) is None:
                    raise BadFilter("match[version] takes last, first, all or timestamps")
                version_q |= Q(version=version)
        qs = qs.filter(version_q)
    if cursor := params.get("next"):
        if not cursor.isdigit():
            raise BadFilter("next is not a cursor this server gave out")
        qs = qs.filter(pk__gt=int(cursor))
    return qs.order_by("pk")


def _limit(request: HttpRequest) -> int:
    raw = request.GET.get("limit", "")
    if raw == "" or raw == "0":  # taxii2-client sends limit=0 for "the server's page size"
        return MAX_PAGE
    if not raw.isdigit():
        raise BadFilter("limit must be a positive integer")
    return min(int(raw), MAX_PAGE)


def _page(request: HttpRequest, qs: QuerySet[TaxiiObject], fields: list[str]) -> tuple[list[tuple], bool, dict]:
    """One page in id order. The ids are picked first and the payload fetched by id, so a plan that sorts
    (stale statistics right after a big publication) sorts integers, not a collection's worth of JSON."""
    limit = _limit(request)
    ids = list(qs.values_list("pk", flat=True)[: limit + 1])
    more = len(ids) > limit
    ids = ids[:limit]
    if not ids:
        return [], False, {}
    # The same filter between the first and last id is exactly this page, without a 1,000-item IN list.
    rows = list(qs.filter(pk__gte=ids[0], pk__lte=ids[-1]).values_list("pk", "date_added", *fields))
    headers = {}
    if rows:
        headers = {
            "X-TAXII-Date-Added-First": taxii_time(rows[0][1]),
            "X-TAXII-Date-Added-Last": taxii_time(rows[-1][1]),
        }
    return rows, more, headers


def _envelope(rows: list[tuple], more: bool, key: str, items: list) -> dict:
    body: dict = {"more": more}
    if more:
        body["next"] = str(rows[-1][0])
    if items:
        body[key] = items
    return body


def _raw_objects_response(rows: list[tuple], more: bool, headers: dict, object_id: str | None) -> HttpResponse:
    if object_id is not None and not rows:
        return _error(404, "Object not found")
    head = b'{"more":true,"next":"' + str(rows[-1][0]).encode() + b'"' if more else b'{"more":false'
    objects = b',"objects":[' + ",".join(r[2] for r in rows).encode() + b"]" if rows else b""
    response = HttpResponse(head + objects + b"}", content_type=TAXII_MEDIA_TYPE)
    for name, value in headers.items():
        response[name] = value
    return response


def _listing(
    request: HttpRequest,
    partner: Partner,
    collection_id: object,
    *,
    object_id: str | None,
    kind: str,
    default_version: str = "last",
) -> HttpResponse:
    community = _collection(partner, collection_id)
    if community is None:
        return _error(404, "Collection not found")
    try:
        qs = _filtered(request, community, object_id=object_id, default_version=default_version)
        if kind == "objects":
            # The stored JSON goes out as text: decoding and re-encoding 1,000 objects per page would dominate.
            rows, more, headers = _page(request, qs, [Cast("data", TextField())])
            return _raw_objects_response(rows, more, headers, object_id)
        if kind == "manifest":
            rows, more, headers = _page(request, qs, ["stix_id", "version"])
            items = [
                {"id": r[2], "date_added": taxii_time(r[1]), "version": r[3], "media_type": STIX_MEDIA_TYPE}
                for r in rows
            ]
            body = _envelope(rows, more, "objects", items)
        else:
            rows, more, headers = _page(request, qs, ["version"])
            body = _envelope(rows, more, "versions", [r[2] for r in rows])
    except BadFilter as exc:
        return _error(400, "Bad filter", str(exc))
    if object_id is not None and not rows and not request.GET.get("next"):
        return _error(404, "Object not found")
    return _response(body, headers=headers)


@taxii_view
def objects(request: HttpRequest, partner: Partner, collection_id: object) -> HttpResponse:
    return _listing(request, partner, collection_id, object_id=None, kind="objects")


@taxii_view
def object_detail(request: HttpRequest, partner: Partner, collection_id: object, object_id: str) -> HttpResponse:
    return _listing(request, partner, collection_id, object_id=object_id, kind="objects")


@taxii_view
def object_versions(request: HttpRequest, partner: Partner, collection_id: object, object_id: str) -> HttpResponse:
    return _listing(request, partner, collection_id, object_id=object_id, kind="versions", default_version="all")


@taxii_view
def manifest(request: HttpRequest, partner: Partner, collection_id: object) -> HttpResponse:
    return _listing(request, partner, collection_id, object_id=None, kind="manifest")


@taxii_view
def signed_manifest(request: HttpRequest, partner: Partner, collection_id: object) -> HttpResponse:
    """Every object version in the collection as {id, modified, sha256(JCS(object))}, signed (detached JWS).

    TAXII splits and re-serializes bundles, so a bundle signature cannot survive it; a client checks
    each object it fetched against this manifest instead (`manage.py verify_bundle --manifest`).
    """
    community = _collection(partner, collection_id)
    if community is None:
        return _error(404, "Collection not found")
    entries = [
        {"id": stix_id, "modified": version, "sha256": sha}
        for stix_id, version, sha in TaxiiObject.objects.filter(community=community)
        .order_by("pk")
        .values_list("stix_id", "version", "sha256")
    ]
    document = {"collection": str(community.collection_id), "objects": entries}
    return _response({"manifest": document, "signature": signing.sign(document), "jwk": signing.public_jwk()})
