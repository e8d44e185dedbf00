"""Sharing pages, mounted at /sharing/."""

from django.urls import path

from investigations.sharing import views

urlpatterns = [
    path("", views.home, name="sharing-home"),
    path("preview/", views.preview, name="sharing-preview"),
    path("publications/<int:publication_id>/", views.publication_detail, name="sharing-publication"),
    path("publications/<int:publication_id>/bundle.json", views.publication_bundle, name="sharing-bundle"),
    path("publications/<int:publication_id>/bundle.json.jws", views.publication_signature, name="sharing-signature"),
    path("publications/<int:publication_id>/misp.json", views.publication_misp, name="sharing-misp"),
    path("jwks.json", views.jwks, name="sharing-jwks"),
    path("imports/", views.import_list, name="sharing-imports"),
    path("imports/<int:import_id>/", views.import_detail, name="sharing-import"),
    path("partners/", views.partner_list, name="sharing-partners"),
    path("partners/<int:partner_id>/", views.partner_detail, name="sharing-partner"),
    path("partners/<int:partner_id>/poll/", views.partner_poll, name="sharing-partner-poll"),
]
