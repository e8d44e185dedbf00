"""TAXII 2.1 server, mounted at /taxii2/ (discovery) with one API root."""

from django.urls import path

from investigations.sharing.taxii import views

_C = "hydra/collections/<uuid:collection_id>/"

urlpatterns = [
    path("", views.discovery, name="taxii-discovery"),
    path("hydra/", views.api_root, name="taxii-api-root"),
    path("hydra/collections/", views.collections, name="taxii-collections"),
    path(_C, views.collection, name="taxii-collection"),
    path(_C + "objects/", views.objects, name="taxii-objects"),
    path(_C + "objects/<str:object_id>/", views.object_detail, name="taxii-object"),
    path(_C + "objects/<str:object_id>/versions/", views.object_versions, name="taxii-object-versions"),
    path(_C + "manifest/", views.manifest, name="taxii-manifest"),
    path(_C + "signed-manifest/", views.signed_manifest, name="taxii-signed-manifest"),
]
