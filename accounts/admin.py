from django.contrib import admin

from accounts.models import Account


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    list_display = ["account_id", "tier", "verification", "country", "enforcement", "flagged_at", "created_at"]
    list_filter = ["tier", "verification", "enforcement"]
    search_fields = ["account_id", "email", "payment_fingerprint", "org_id"]
    readonly_fields = ["snapshot_batch_id", "snapshot_line", "first_ingested_at"]
