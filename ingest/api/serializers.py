"""Input and output shapes of the batch API."""

from __future__ import annotations

from django.conf import settings
from rest_framework import serializers

from ingest.models import Batch, RejectedLine


class BatchInputSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="NDJSON or gzip-compressed NDJSON batch file.")

    def validate_file(self, upload: object) -> object:
        if getattr(upload, "size", 0) > settings.INGEST_MAX_UPLOAD_BYTES:
            raise serializers.ValidationError("The file is larger than INGEST_MAX_UPLOAD_BYTES.")
        return upload


class BatchOutputSerializer(serializers.ModelSerializer):
    progress = serializers.IntegerField(source="progress_percent")
    status_url = serializers.SerializerMethodField()
    rejected_url = serializers.SerializerMethodField()
    accounts = serializers.IntegerField(source="accounts_new")
    alerts = serializers.IntegerField(source="alerts_new")
    events = serializers.IntegerField(source="events_new")
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = Batch
        fields = [
            "id", "filename", "source", "status", "progress", "error", "duplicate_of",
            "size_bytes", "sha256", "lines_total", "chunks_total", "chunks_done",
            "accounts", "accounts_updated", "alerts", "events", "duplicates", "rejected",
            "created_by", "created_at", "started_at", "finished_at", "status_url", "rejected_url",
        ]  # fmt: skip

    def _url(self, name: str, batch: Batch) -> str:
        from django.urls import reverse

        url = reverse(name, args=[batch.pk])
        request = self.context.get("request")
        return request.build_absolute_uri(url) if request else url

    def get_status_url(self, batch: Batch) -> str:
        return self._url("api-batch-detail", batch)

    def get_rejected_url(self, batch: Batch) -> str:
        return self._url("api-batch-rejected", batch)


class RejectedLineOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = RejectedLine
        fields = ["line_no", "reason"]
