from django.contrib import admin
from django.http import HttpRequest

from investigations.models import Alert, AuditEntry, Case


@admin.register(Case)
class CaseAdmin(admin.ModelAdmin):
    list_display = ["id", "title", "status", "resolution", "risk_score", "assignee", "created_at"]
    list_filter = ["status", "resolution"]
    search_fields = ["title"]
    # State changes go through services so they reach the audit log; the admin only reads.
    readonly_fields = [f.name for f in Case._meta.fields]


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    list_display = ["alert_id", "account", "detector", "score", "severity", "status", "raised_at"]
    list_filter = ["status", "severity", "source"]
    search_fields = ["alert_id", "account__account_id", "detector"]
    readonly_fields = [f.name for f in Alert._meta.fields]


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    """Read-only: the audit log is append-only (and a trigger enforces it in the database)."""

    list_display = ["created_at", "actor_name", "action", "object_type", "object_repr"]
    list_filter = ["action"]
    search_fields = ["actor_name", "object_repr", "object_id"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
