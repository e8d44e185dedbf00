"""Enforcement endpoints under /api/v1/enforcement/."""

from django.urls import path

from investigations.enforcement.api import views

urlpatterns = [
    path("enforcement/actions/", views.ActionListApi.as_view(), name="api-enforcement-actions"),
    path("enforcement/actions/<int:action_id>/", views.ActionDetailApi.as_view(), name="api-enforcement-action"),
    path(
        "enforcement/actions/<int:action_id>/approve/",
        views.ActionReviewApi.as_view(approve=True),
        name="api-enforcement-approve",
    ),
    path(
        "enforcement/actions/<int:action_id>/reject/",
        views.ActionReviewApi.as_view(approve=False),
        name="api-enforcement-reject",
    ),
    path("enforcement/changes/", views.ChangeFeedApi.as_view(), name="api-enforcement-changes"),
]
