"""Sharing REST API under /api/v1/sharing/."""

from django.urls import path

from investigations.sharing.api import views

urlpatterns = [
    path("sharing/publications/", views.PublicationListApi.as_view(), name="api-sharing-publications"),
    path(
        "sharing/publications/<int:publication_id>/",
        views.PublicationDetailApi.as_view(),
        name="api-sharing-publication",
    ),
    path(
        "sharing/publications/<int:publication_id>/decision/",
        views.PublicationDecisionApi.as_view(),
        name="api-sharing-decision",
    ),
    path(
        "sharing/publications/<int:publication_id>/bundle/",
        views.PublicationBundleApi.as_view(),
        name="api-sharing-bundle",
    ),
    path("sharing/imports/", views.ImportApi.as_view(), name="api-sharing-imports"),
]
