"""Account pages (`/accounts/<account_id>/`)."""

from __future__ import annotations

from django.urls import path

from accounts import views

urlpatterns = [
    path("<str:account_id>/", views.account_detail, name="account-detail"),
    path("<str:account_id>/timeline/", views.account_timeline, name="account-timeline"),
]
