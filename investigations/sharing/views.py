"""Sharing pages: preview and request, approval, downloads, partner imports, partners and communities."""

from __future__ import annotations

import json

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from config.http import AuthedHtmxRequest
from investigations.models import Case
from investigations.sharing import importer, misp, selectors, services, signing
from investigations.sharing.export import build_export
from investigations.sharing.forms import (
    CommunityForm,
    DecisionForm,
    ImportForm,
    PartnerEditForm,
    PartnerForm,
    PreviewForm,
    PullForm,
    RequestForm,
)
from investigations.sharing.models import Publication, SharingCommunity
from investigations.sharing.taxii.auth import partner_from_request

EXPORT = "investigations.export_indicators"
SECTION = {"section": "sharing"}


@require_GET
@login_required
@permission_required(EXPORT, raise_exception=True)
def home(request: AuthedHtmxRequest) -> HttpResponse:
    publications = selectors.publication_list(user=request.user)
    return render(
        request,
        "sharing/home.html",
        {
            **SECTION,
            "pending": publications.filter(status=Publication.Status.PENDING_APPROVAL),
            "publications": publications.exclude(status=Publication.Status.PENDING_APPROVAL)[:30],
            "imports": selectors.import_list(user=request.user)[:10],
            "communities": selectors.communities_for_user(user=request.user),
            "form": PreviewForm(),
            "jwk": signing.public_jwk(),
        },
    )


@require_http_methods(["GET", "POST"])
@login_required
@permission_required(EXPORT, raise_exception=True)
def preview(request: AuthedHtmxRequest) -> HttpResponse:
    """Exactly what would be shared, what is withheld and why, and the change since the last published version."""
    if request.method == "POST":
        form = RequestForm(request.POST)
    elif "community" in request.GET or not request.GET:
        form = RequestForm(request.GET or None)
    else:  # from the case page: only the case is known; default to the only community and TLP:AMBER
        communities = list(SharingCommunity.objects.values_list("pk", flat=True)[:2])
        data = {"cases": request.GET.get("cases", ""), "tlp": request.GET.get("tlp", "amber")}
        if len(communities) == 1:
            form = RequestForm({**data, "community": communities[0]})
        else:
            form = RequestForm(initial=data)
    context: dict = {**SECTION, "form": form}
    if form.is_valid():
        try:
            cases = selectors.cases_for_export(user=request.user, case_ids=form.cleaned_data["cases"])
        except Case.DoesNotExist:
            form.add_error("cases", "One of these cases does not exist.")
            cases = []
        community, level = form.cleaned_data["community"], form.cleaned_data["tlp"]
        if cases and request.method == "POST":
            try:
                publication = services.publication_request(
                    cases=cases,
                    community=community,
                    level=level,
                    actor=request.user,
                    reason=form.cleaned_data["reason"],
                )
            except services.SharingError as exc:
                messages.error(request, str(exc))
            else:
                messages.success(request, f"Version {publication.version} is waiting for a lead's approval.")
                return redirect(publication)
        if cases:
            export = build_export(cases=cases, community=community, level=level)
            context.update(
                {
                    "cases": cases,
                    "export": export,
                    "community": community,
                    "level": level,
                    "diff": services.diff_from_last(
                        scope_key=export.scope_key, community=community, included=export.included
                    ),
                    "object_count": len(export.bundle["objects"]),
                    "bundle_bytes": len(json.dumps(export.bundle)),
                }
            )
    template = "sharing/preview.html"
    if request.htmx and not request.htmx.boosted:
        template += "#preview-body"
    return render(request, template, context)


@require_http_methods(["GET", "POST"])
@login_required
@permission_required(EXPORT, raise_exception=True)
def publication_detail(request: AuthedHtmxRequest, publication_id: int) -> HttpResponse:
    publication = selectors.publication_get(user=request.user, publication_id=publication_id)
    form = DecisionForm(request.POST or None)
    if request.method == "POST":
        if not request.user.has_perm(selectors.APPROVE):
            raise PermissionDenied
        if form.is_valid():
            try:
                if form.cleaned_data["decision"] == "approve":
                    services.publication_approve(
                        publication=publication, actor=request.user, reason=form.cleaned_data["reason"]
                    )
                    messages.success(request, "Published: signed, downloadable and in the TAXII collection.")
                else:
                    services.publication_reject(
                        publication=publication, actor=request.user, reason=form.cleaned_data["reason"]
                    )
                    messages.success(request, "Rejected.")
            except services.SharingError as exc:
                messages.error(request, str(exc))
            return redirect(publication)
    return render(
        request,
        "sharing/publication_detail.html",
        {
            **SECTION,
            "publication": publication,
            "form": form,
            "summary": publication.summary,
            "can_decide": request.user.has_perm(selectors.APPROVE)
            and publication.requested_by_id != request.user.pk
            and publication.status == Publication.Status.PENDING_APPROVAL,
        },
    )


def _published(request: AuthedHtmxRequest, publication_id: int) -> Publication:
    publication = selectors.publication_get(user=request.user, publication_id=publication_id)
    if publication.status != Publication.Status.PUBLISHED:
        raise Http404("Only published bundles can be downloaded.")
    return publication


def _download(body: bytes, filename: str, content_type: str) -> HttpResponse:
    response = HttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@require_GET
@login_required
@permission_required(EXPORT, raise_exception=True)
def publication_bundle(request: AuthedHtmxRequest, publication_id: int) -> HttpResponse:
    p = _published(request, publication_id)
    body = json.dumps(p.bundle, indent=2, ensure_ascii=False).encode()
    return _download(
        body, f"hydra-watch-{p.scope_key.replace(',', '-')}-v{p.version}.stix.json", "application/stix+json;version=2.1"
    )


@require_GET
@login_required
@permission_required(EXPORT, raise_exception=True)
def publication_signature(request: AuthedHtmxRequest, publication_id: int) -> HttpResponse:
    p = _published(request, publication_id)
    name = f"hydra-watch-{p.scope_key.replace(',', '-')}-v{p.version}.stix.json.jws"
    return _download(p.jws.encode(), name, "application/jose")


@require_GET
@login_required
@permission_required(EXPORT, raise_exception=True)
def publication_misp(request: AuthedHtmxRequest, publication_id: int) -> HttpResponse:
    p = _published(request, publication_id)
    body = json.dumps({"Event": misp.misp_event(p.bundle, tlp_level=p.tlp)}, indent=2, ensure_ascii=False).encode()
    return _download(body, f"hydra-watch-{p.scope_key.replace(',', '-')}-v{p.version}.misp.json", "application/json")


@require_GET
def jwks(request: AuthedHtmxRequest) -> HttpResponse:
    """Our public signing key as a JWK Set, for users of the app and for partners (HTTP Basic)."""
    if not request.user.is_authenticated and partner_from_request(request) is None:
        response = HttpResponse("Log in or send partner credentials.", status=401, content_type="text/plain")
        response["WWW-Authenticate"] = 'Basic realm="Hydra Watch"'
        return response
    return JsonResponse({"keys": [signing.public_jwk()]})


@require_http_methods(["GET", "POST"])
@login_required
@permission_required(EXPORT, raise_exception=True)
def import_list(request: AuthedHtmxRequest) -> HttpResponse:
    form = ImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        # Read one byte past the limit: enough to say "too large" without loading a huge upload.
        raw = form.cleaned_data["bundle"].read(settings.SHARING_MAX_BUNDLE_BYTES + 1)
        signature = form.cleaned_data["signature"]
        jws = signature.read().decode("ascii", errors="replace") if signature else None
        try:
            record = importer.import_bundle(
                partner=form.cleaned_data["partner"],
                raw=raw,
                jws=jws,
                actor=request.user,
                source="upload",
                filename=form.cleaned_data["bundle"].name,
            )
        except importer.BundleRejected as exc:
            form.add_error("bundle", str(exc))
        else:
            messages.success(request, f"Imported: {record.indicator_count} indicators, {record.match_count} matches.")
            return redirect(record)
    return render(
        request,
        "sharing/import_list.html",
        {
            **SECTION,
            "form": form,
            "imports": selectors.import_list(user=request.user)[:100],
        },
    )


@require_http_methods(["GET", "POST"])
@login_required
@permission_required(EXPORT, raise_exception=True)
def import_detail(request: AuthedHtmxRequest, import_id: int) -> HttpResponse:
    record = selectors.import_get(user=request.user, import_id=import_id)
    form = PullForm(request.POST or None)
    if request.method == "POST":
        if not request.user.has_perm("investigations.manage_case"):
            raise PermissionDenied
        if form.is_valid():
            case = None
            if form.cleaned_data["case"]:
                case = Case.objects.visible_to(request.user).filter(pk=form.cleaned_data["case"]).first()
                if case is None:
                    form.add_error("case", "No such case.")
            if not form.errors:
                try:
                    case, added, taken = services.matches_pull_into_case(
                        partner_import=record, actor=request.user, case=case
                    )
                except services.SharingError as exc:
                    messages.error(request, str(exc))
                else:
                    messages.success(
                        request, f"{added} accounts added to case #{case.pk}; {taken} were already in a case."
                    )
                    return redirect(case)
    return render(
        request,
        "sharing/import_detail.html",
        {
            **SECTION,
            "record": record,
            "form": form,
            "indicators": selectors.import_indicators(user=request.user, partner_import=record),
            "matches": selectors.import_matches(user=request.user, partner_import=record),
        },
    )


@require_http_methods(["GET", "POST"])
@login_required
@permission_required(selectors.PARTNERS, raise_exception=True)
def partner_list(request: AuthedHtmxRequest) -> HttpResponse:
    form = PartnerForm(request.POST if request.POST.get("form") == "partner" else None)
    community_form = CommunityForm(request.POST if request.POST.get("form") == "community" else None)
    secret, new_partner = None, None
    if request.method == "POST":
        try:
            if form.is_bound and form.is_valid():
                partner, secret = services.partner_create(actor=request.user, **form.cleaned_data)
                messages.success(
                    request, f"Partner {partner.name} created. Give them the secret below; it is shown once."
                )
                form = PartnerForm()
            elif community_form.is_bound and community_form.is_valid():
                community = services.community_create(actor=request.user, **community_form.cleaned_data)
                messages.success(request, f"Community {community.name} created with its TAXII collection.")
                return redirect("sharing-partners")
        except services.SharingError as exc:
            messages.error(request, str(exc))
    return render(
        request,
        "sharing/partner_list.html",
        {
            **SECTION,
            "partners": selectors.partner_list(user=request.user),
            "form": form,
            "community_form": community_form,
            "communities": selectors.communities_for_user(user=request.user),
            "secret": secret,
            "new_partner": new_partner,
            "taxii_url": request.build_absolute_uri("/taxii2/"),
        },
    )


@require_http_methods(["GET", "POST"])
@login_required
@permission_required(selectors.PARTNERS, raise_exception=True)
def partner_detail(request: AuthedHtmxRequest, partner_id: int) -> HttpResponse:
    partner = selectors.partner_get(user=request.user, partner_id=partner_id)
    secret = None
    initial = {
        "communities": partner.communities.all(),
        "public_jwk": json.dumps(partner.public_jwk) if partner.public_jwk else "",
        "poll_url": partner.poll_url,
        "poll_username": partner.poll_username,
        "is_active": partner.is_active,
    }
    form = PartnerEditForm(request.POST if request.POST.get("form") == "edit" else None, initial=initial)
    if request.method == "POST":
        if request.POST.get("form") == "rotate":
            secret = services.partner_rotate_secret(partner=partner, actor=request.user)
            messages.success(request, "New secret generated; the old one no longer works. It is shown once.")
        elif form.is_valid():
            try:
                services.partner_update(partner=partner, actor=request.user, **form.cleaned_data)
            except services.SharingError as exc:
                messages.error(request, str(exc))
            else:
                messages.success(request, "Saved.")
                return redirect("sharing-partner", partner_id=partner.pk)
    return render(
        request, "sharing/partner_detail.html", {**SECTION, "partner": partner, "form": form, "secret": secret}
    )


@require_POST
@login_required
@permission_required(selectors.PARTNERS, raise_exception=True)
def partner_poll(request: AuthedHtmxRequest, partner_id: int) -> HttpResponse:
    from investigations.sharing import tasks

    partner = selectors.partner_get(user=request.user, partner_id=partner_id)
    tasks.poll_partner.delay_on_commit(partner.pk)
    messages.success(request, f"Polling {partner.name}'s collection now.")
    return redirect("sharing-partner", partner_id=partner.pk)
