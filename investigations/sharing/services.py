"""Writes of the sharing app: publication requests and decisions, partners, imports, pulling matches into cases.

Every function checks the actor's permission, runs in one transaction and records itself in the
audit log in that transaction.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from investigations.models import Case, CaseMembership
from investigations.services.audit import audit_record
from investigations.sharing import lint, signing, stix_ids
from investigations.sharing.export import Export, build_export
from investigations.sharing.models import Partner, PartnerImport, Publication, SharingCommunity, TaxiiObject


class SharingError(ValueError):
    """A request that cannot be carried out, with a message for the user."""


def _require(actor: AbstractBaseUser, perm: str) -> None:
    if not actor.has_perm(perm):
        raise PermissionDenied(f"requires {perm}")


def _included_keys(rows: list[dict]) -> set[tuple[str, str]]:
    return {(r["kind"], r["display"]) for r in rows}


def diff_from_last(*, scope_key: str, community: SharingCommunity, included: list[dict]) -> dict:
    """Values added and removed since the last published version of the same cases to the same community."""
    last = (
        Publication.objects.filter(scope_key=scope_key, community=community, status=Publication.Status.PUBLISHED)
        .order_by("-version")
        .first()
    )
    if last is None:
        return {"previous_version": None, "added": [], "removed": [], "first": True}
    before = {(r["kind"], r["display"]): r for r in last.summary.get("included", [])}
    now = {(r["kind"], r["display"]): r for r in included}
    return {
        "previous_version": last.version,
        "previous_id": last.pk,
        "added": [now[k] for k in sorted(now.keys() - before.keys())],
        "removed": [before[k] for k in sorted(before.keys() - now.keys())],
        "first": False,
    }


@transaction.atomic
def publication_request(
    *, cases: list[Case], community: SharingCommunity, level: str, actor: AbstractBaseUser, reason: str = ""
) -> Publication:
    """Build the bundle the preview showed and queue it for a lead's approval."""
    _require(actor, "investigations.export_indicators")
    if not cases:
        raise SharingError("Choose at least one case.")
    export: Export = build_export(cases=cases, community=community, level=level)
    if not export.collected.accounts:
        raise SharingError("No account in these cases is confirmed abusive yet; there is nothing to share.")
    problems = lint.lint_bundle(export.bundle, private_values=export.private_values)
    if problems:
        raise SharingError("The bundle fails the sharing profile: " + "; ".join(problems[:5]))
    last_version = (
        Publication.objects.filter(scope_key=export.scope_key, community=community).aggregate(v=Max("version"))["v"]
        or 0
    )
    publication = Publication.objects.create(
        scope_key=export.scope_key,
        community=community,
        tlp=level,
        version=last_version + 1,
        bundle=export.bundle,
        bundle_sha256=signing.sha256_canonical(export.bundle),
        summary={
            "included": export.included,
            "withheld": export.withheld,
            "rules": export.rules,
            "diff": diff_from_last(scope_key=export.scope_key, community=community, included=export.included),
            "keys": {key: [obj["id"], export.hashes[key]] for key, obj in export.keyed.items()},
            "accounts": len(export.collected.accounts),
        },
        requested_by=actor,
    )
    publication.cases.set(cases)
    audit_record(
        actor=actor,
        action="sharing.publication_requested",
        obj=publication,
        reason=reason,
        after={
            "cases": export.scope_key,
            "community": community.name,
            "tlp": level,
            "objects": len(export.bundle["objects"]),
            "values": len(export.included),
        },
    )
    return publication


@transaction.atomic
def publication_approve(*, publication: Publication, actor: AbstractBaseUser, reason: str = "") -> Publication:
    """A lead (not the requester) signs and publishes: the bundle becomes downloadable and joins the TAXII feed."""
    _require(actor, "investigations.approve_sharing")
    publication = Publication.objects.select_for_update().get(pk=publication.pk)
    if publication.status != Publication.Status.PENDING_APPROVAL:
        raise SharingError(f"This publication is {publication.get_status_display()}, not pending approval.")
    if publication.requested_by_id == actor.pk:
        raise SharingError("You cannot approve your own request; another lead must.")
    publication.jws = signing.sign(publication.bundle)
    publication.status = Publication.Status.PUBLISHED
    publication.decided_by = actor
    publication.decided_at = timezone.now()
    publication.decision_reason = reason
    publication.save()
    added = taxii_add_objects(publication=publication)
    by_id = {o["id"]: o for o in publication.bundle["objects"]}
    keys = publication.summary.get("keys", {})
    stix_ids.remember({k: by_id[v[0]] for k, v in keys.items() if v[0] in by_id}, {k: v[1] for k, v in keys.items()})
    audit_record(
        actor=actor,
        action="sharing.publication_approved",
        obj=publication,
        reason=reason,
        before={"status": Publication.Status.PENDING_APPROVAL},
        after={"status": publication.status, "bundle_sha256": publication.bundle_sha256, "taxii_objects_added": added},
    )
    return publication


@transaction.atomic
def publication_reject(*, publication: Publication, actor: AbstractBaseUser, reason: str) -> Publication:
    _require(actor, "investigations.approve_sharing")
    publication = Publication.objects.select_for_update().get(pk=publication.pk)
    if publication.status != Publication.Status.PENDING_APPROVAL:
        raise SharingError(f"This publication is {publication.get_status_display()}, not pending approval.")
    if not reason.strip():
        raise SharingError("Say why the bundle is rejected.")
    publication.status = Publication.Status.REJECTED
    publication.decided_by, publication.decided_at, publication.decision_reason = actor, timezone.now(), reason
    publication.save()
    audit_record(
        actor=actor,
        action="sharing.publication_rejected",
        obj=publication,
        reason=reason,
        before={"status": Publication.Status.PENDING_APPROVAL},
        after={"status": publication.status},
    )
    return publication


def _version_of(obj: dict) -> str:
    return obj.get("modified") or obj.get("created") or "1970-01-01T00:00:00.000Z"


def taxii_add_objects(*, publication: Publication) -> int:
    """Add the publication's object versions to its community's collection; unchanged versions are skipped."""
    community = publication.community
    objects = publication.bundle["objects"]
    ids = [o["id"] for o in objects]
    existing: dict[str, set[str]] = {}
    for stix_id, version in TaxiiObject.objects.filter(community=community, stix_id__in=ids).values_list(
        "stix_id", "version"
    ):
        existing.setdefault(stix_id, set()).add(version)
    start = timezone.now()
    rows, superseded = [], []
    for obj in objects:
        version = _version_of(obj)
        known = existing.get(obj["id"], set())
        if version in known:
            continue
        if known:
            superseded.append(obj["id"])
        rows.append(
            TaxiiObject(
                community=community,
                publication=publication,
                stix_id=obj["id"],
                stix_type=obj["type"],
                version=version,
                date_added=start + timedelta(microseconds=len(rows)),
                is_first=not known,
                is_latest=True,
                sha256=signing.sha256_canonical(obj),
                data=obj,
            )
        )
    if superseded:
        TaxiiObject.objects.filter(community=community, stix_id__in=superseded).update(is_latest=False)
    TaxiiObject.objects.bulk_create(rows, batch_size=2000)
    return len(rows)


# ---- partners ---------------------------------------------------------------------------------------------


@transaction.atomic
def partner_create(
    *,
    actor: AbstractBaseUser,
    name: str,
    username: str,
    communities: list[SharingCommunity],
    public_jwk: dict | None,
    poll_url: str = "",
    poll_username: str = "",
    poll_password: str = "",
) -> tuple[Partner, str]:
    """Create a partner and return it with its generated TAXII secret (shown once, stored hashed)."""
    _require(actor, "investigations.manage_partners")
    if public_jwk is not None:
        try:
            signing.public_key_from_jwk(public_jwk)
        except signing.SignatureError as exc:
            raise SharingError(f"The public key is not usable: {exc}") from exc
    secret = secrets.token_urlsafe(32)
    partner = Partner(
        name=name,
        username=username,
        public_jwk=public_jwk,
        poll_url=poll_url,
        poll_username=poll_username,
        poll_password=poll_password,
    )
    partner.set_password(secret)
    partner.save()
    partner.communities.set(communities)
    audit_record(
        actor=actor,
        action="sharing.partner_created",
        obj=partner,
        after={
            "username": username,
            "communities": [c.name for c in communities],
            "public_key": bool(public_jwk),
            "poll_url": poll_url,
        },
    )
    return partner, secret


@transaction.atomic
def partner_rotate_secret(*, partner: Partner, actor: AbstractBaseUser, reason: str = "") -> str:
    _require(actor, "investigations.manage_partners")
    secret = secrets.token_urlsafe(32)
    partner.set_password(secret)
    partner.save(update_fields=["password_hash"])
    audit_record(actor=actor, action="sharing.partner_secret_rotated", obj=partner, reason=reason)
    return secret


@transaction.atomic
def partner_update(
    *,
    partner: Partner,
    actor: AbstractBaseUser,
    communities: list[SharingCommunity],
    public_jwk: dict | None,
    is_active: bool,
    poll_url: str,
    poll_username: str,
    poll_password: str = "",
) -> Partner:
    _require(actor, "investigations.manage_partners")
    if public_jwk is not None:
        try:
            signing.public_key_from_jwk(public_jwk)
        except signing.SignatureError as exc:
            raise SharingError(f"The public key is not usable: {exc}") from exc
    before = {
        "communities": sorted(c.name for c in partner.communities.all()),
        "is_active": partner.is_active,
        "public_jwk": partner.public_jwk,
        "poll_url": partner.poll_url,
    }
    partner.public_jwk, partner.is_active, partner.poll_url, partner.poll_username = (
        public_jwk,
        is_active,
        poll_url,
        poll_username,
    )
    if poll_password:
        partner.poll_password = poll_password
    partner.save()
    partner.communities.set(communities)
    audit_record(
        actor=actor,
        action="sharing.partner_updated",
        obj=partner,
        before=before,
        after={
            "communities": sorted(c.name for c in communities),
            "is_active": is_active,
            "public_jwk": public_jwk,
            "poll_url": poll_url,
        },
    )
    return partner


@transaction.atomic
def community_create(*, actor: AbstractBaseUser, name: str, key_id: str, description: str = "") -> SharingCommunity:
    _require(actor, "investigations.manage_partners")
    from investigations.sharing import identifiers

    if key_id not in identifiers.community_keys():
        raise SharingError(f"No community key {key_id!r} is configured (SHARING_COMMUNITY_KEYS).")
    community = SharingCommunity.objects.create(name=name, key_id=key_id, description=description)
    audit_record(actor=actor, action="sharing.community_created", obj=community, after={"key_id": key_id})
    return community


# ---- matches into cases -----------------------------------------------------------------------------------


@transaction.atomic
def matches_pull_into_case(
    *, partner_import: PartnerImport, actor: AbstractBaseUser, case: Case | None, account_ids: list[int] | None = None
) -> tuple[Case, int, int]:
    """Put the accounts a partner bundle matched into a case (a new one when `case` is None).

    Accounts already in another case stay there (an account is in at most one case); the count
    of those is returned so the page can say so. Returns (case, added, already_in_a_case).
    """
    _require(actor, "investigations.manage_case")
    matched = set(partner_import.matches.values_list("account_id", flat=True))
    if account_ids is not None:
        matched &= set(account_ids)
    if not matched:
        raise SharingError("No matched accounts to pull into a case.")
    taken = set(CaseMembership.objects.filter(account_id__in=matched).values_list("account_id", flat=True))
    free = sorted(matched - taken)
    if case is None:
        if not free:
            raise SharingError("Every matched account is already in a case.")
        case = Case.objects.create(
            title=f"Partner match: {partner_import.partner.name} (import {partner_import.pk})"[:200],
            analyst_touched_at=timezone.now(),
        )
        audit_record(actor=actor, action="case.created", obj=case, reason=f"from partner import {partner_import.pk}")
    evidence_by_account: dict[int, list[dict]] = {}
    for match in partner_import.matches.filter(account_id__in=free).select_related("indicator"):
        ind = match.indicator
        evidence_by_account.setdefault(match.account_id, []).append(
            {
                "signal": f"partner:{ind.kind}",
                "value": ind.value if ind.kind not in ("email-hmac", "payment-hmac") else ind.value[:12] + "…",
                "peers": 0,
                "weight": (ind.confidence or 50) / 100,
                "text": f"{partner_import.partner.name} indicator {ind.stix_id} matched ({match.matched_on})",
            }
        )
    CaseMembership.objects.bulk_create(
        [
            CaseMembership(
                case=case,
                account_id=acc,
                source=CaseMembership.Source.PARTNER,
                evidence=evidence_by_account.get(acc, []),
                pinned=True,
            )
            for acc in free
        ]
    )
    Case.objects.filter(pk=case.pk).update(analyst_touched_at=timezone.now())
    audit_record(
        actor=actor,
        action="sharing.matches_pulled_into_case",
        obj=case,
        after={"import": partner_import.pk, "added": len(free), "already_in_a_case": len(taken)},
    )
    return case, len(free), len(taken)
