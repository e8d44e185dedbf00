from __future__ import annotations

from django.urls import path

from investigations.detection.api import views

urlpatterns = [
    path("cases/", views.CaseListApi.as_view(), name="api-case-list"),
    path("cases/<int:case_id>/", views.CaseDetailApi.as_view(), name="api-case-detail"),
]
