"""Enforcement pages under /enforcement/."""

from django.urls import path

from investigations.enforcement import views

app_name = "enforcement"
urlpatterns = [
    path("", views.action_list, name="action-list"),
    path("approvals/", views.approval_queue, name="approval-queue"),
    path("controls/", views.ban_controls, name="controls"),
    path("actions/new/", views.action_create, name="action-create"),
    path("actions/<int:action_id>/", views.action_detail, name="action-detail"),
    path("actions/<int:action_id>/progress/", views.action_progress, name="action-progress"),
    path("actions/<int:action_id>/review/", views.action_review, name="action-review"),
    path("actions/<int:action_id>/resend/", views.action_resend, name="action-resend"),
    path("accounts/<int:account_pk>/history/", views.account_history, name="account-history"),
]
