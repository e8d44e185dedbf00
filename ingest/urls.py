from __future__ import annotations

from django.urls import path

from ingest import views

urlpatterns = [
    path("", views.batch_list, name="batch-list"),
    path("<int:batch_id>/", views.batch_detail, name="batch-detail"),
]
