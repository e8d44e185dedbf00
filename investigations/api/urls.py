"""Alert triage and case workflow endpoints under /api/v1/."""

from __future__ import annotations

from django.urls import path

from investigations.api import views

urlpatterns = [
    path("alerts/", views.AlertListApi.as_view(), name="api-alerts"),
    path("alerts/triage/", views.AlertTriageApi.as_view(), name="api-alerts-triage"),
    path("cases/<int:case_id>/status/", views.CaseStatusApi.as_view(), name="api-case-status"),
]
