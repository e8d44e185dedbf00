from __future__ import annotations

from django.urls import path

from ingest.api import views

urlpatterns = [
    path("batches/", views.BatchListApi.as_view(), name="api-batch-list"),
    path("batches/<int:batch_id>/", views.BatchDetailApi.as_view(), name="api-batch-detail"),
    path("batches/<int:batch_id>/rejected/", views.BatchRejectedApi.as_view(), name="api-batch-rejected"),
]
