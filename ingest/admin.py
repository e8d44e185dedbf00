from django.contrib import admin

from ingest.models import Batch


@admin.register(Batch)
class BatchAdmin(admin.ModelAdmin):
    list_display = ["id", "filename", "source", "status", "events_new", "rejected", "created_at"]
    list_filter = ["status", "source"]
    readonly_fields = [f.name for f in Batch._meta.fields]
    search_fields = ["filename", "sha256"]
