"""Read-only admin views of the sharing app: every change goes through the pages, which audit it."""

from __future__ import annotations

from django.contrib import admin

from investigations.sharing.models import Partner, PartnerImport, Publication, SharingCommunity


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(SharingCommunity)
class SharingCommunityAdmin(ReadOnlyAdmin):
    list_display = ["name", "key_id", "collection_id", "created_at"]


@admin.register(Partner)
class PartnerAdmin(ReadOnlyAdmin):
    list_display = ["name", "username", "is_active", "poll_url", "last_polled_at"]
    exclude = ["password_hash", "poll_password"]


@admin.register(Publication)
class PublicationAdmin(ReadOnlyAdmin):
    list_display = ["pk", "scope_key", "community", "tlp", "status", "version", "requested_by", "decided_by"]
    exclude = ["bundle", "jws"]


@admin.register(PartnerImport)
class PartnerImportAdmin(ReadOnlyAdmin):
    list_display = ["pk", "partner", "source", "signature", "indicator_count", "match_count", "created_at"]
