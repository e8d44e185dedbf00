"""The audit log page under /audit/."""

from django.urls import path

from investigations.audit import views

app_name = "audit"
urlpatterns = [
    path("", views.audit_list, name="entry-list"),
    path("export.csv", views.audit_export, name="export"),
]
