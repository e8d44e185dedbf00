"""Reads of the sharing app. Each selector takes the user and checks the permission as part of the read."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db.models import Count, QuerySet
from django.shortcuts import get_object_or_404

from investigations.models import Case
from investigations.sharing.models import (
    Partner,
    PartnerImport,
    PartnerIndicator,
    PartnerMatch,
    Publication,
    SharingCommunity,
    Tlp,
)

EXPORT = "investigations.export_indicators"
APPROVE = "investigations.approve_sharing"
PARTNERS = "investigations.manage_partners"


def _require(user, perm: str) -> None:
    if not (user.is_authenticated and user.has_perm(perm)):
        raise PermissionDenied


def cases_for_export(*, user, case_ids: list[int]) -> list[Case]:
    _require(user, EXPORT)
    cases = list(Case.objects.visible_to(user).filter(pk__in=case_ids).order_by("pk"))
    if len(cases) != len(set(case_ids)):
        raise Case.DoesNotExist("One of the cases does not exist.")
    return cases


def communities_for_user(*, user) -> QuerySet[SharingCommunity]:
    _require(user, EXPORT)
    return SharingCommunity.objects.annotate(partner_count=Count("partners")).order_by("name")


def community_get(*, user, community_id: int) -> SharingCommunity:
    _require(user, EXPORT)
    return get_object_or_404(SharingCommunity, pk=community_id)


def publication_list(*, user, status: str | None = None) -> QuerySet[Publication]:
    _require(user, EXPORT)
    qs = Publication.objects.select_related("community", "requested_by", "decided_by").order_by("-requested_at")
    return qs.filter(status=status) if status else qs


def publication_get(*, user, publication_id: int) -> Publication:
    _require(user, EXPORT)
    return get_object_or_404(
        Publication.objects.select_related("community", "requested_by", "decided_by").prefetch_related("cases"),
        pk=publication_id,
    )


def publication_last_published(*, user, scope_key: str, community: SharingCommunity) -> Publication | None:
    _require(user, EXPORT)
    return (
        Publication.objects.filter(scope_key=scope_key, community=community, status=Publication.Status.PUBLISHED)
        .order_by("-version")
        .first()
    )


def import_list(*, user) -> QuerySet[PartnerImport]:
    _require(user, EXPORT)
    return PartnerImport.objects.select_related("partner", "imported_by").order_by("-created_at")


def import_get(*, user, import_id: int) -> PartnerImport:
    _require(user, EXPORT)
    return get_object_or_404(PartnerImport.objects.select_related("partner", "imported_by"), pk=import_id)


def can_see_tlp(user, level: str) -> bool:
    """TLP:RED is for named recipients: inside our lab that is the leads who decide on sharing."""
    return level != Tlp.RED or user.has_perm(APPROVE)


def import_indicators(*, user, partner_import: PartnerImport, limit: int = 500) -> list[dict]:
    """The import's indicator values; values under a TLP the user may not see are masked, not dropped."""
    _require(user, EXPORT)
    rows = PartnerIndicator.objects.filter(partner_import=partner_import).annotate(n=Count("matches"))
    out = []
    for ind in rows.order_by("-n", "kind", "value")[:limit]:
        visible = can_see_tlp(user, ind.tlp)
        out.append({"indicator": ind, "value": ind.value if visible else "", "visible": visible, "matches": ind.n})
    return out


def import_matches(*, user, partner_import: PartnerImport, limit: int = 500) -> QuerySet[PartnerMatch]:
    _require(user, EXPORT)
    return (
        PartnerMatch.objects.filter(partner_import=partner_import)
        .select_related("indicator", "account", "alert")
        .order_by("account__account_id")[:limit]
    )


def partner_list(*, user) -> QuerySet[Partner]:
    _require(user, PARTNERS)
    return Partner.objects.prefetch_related("communities").order_by("name")


def partner_get(*, user, partner_id: int) -> Partner:
    _require(user, PARTNERS)
    return get_object_or_404(Partner, pk=partner_id)


def partners_for_import(*, user) -> QuerySet[Partner]:
    _require(user, EXPORT)
    return Partner.objects.filter(is_active=True).order_by("name")
