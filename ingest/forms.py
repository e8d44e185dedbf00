"""The upload form: one batch file."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.template.defaultfilters import filesizeformat


class BatchUploadForm(forms.Form):
    file = forms.FileField(label="Batch file", help_text="NDJSON, optionally gzip-compressed (.ndjson or .ndjson.gz).")

    def clean_file(self) -> object:
        upload = self.cleaned_data["file"]
        limit = settings.INGEST_MAX_UPLOAD_BYTES
        if upload.size > limit:
            raise forms.ValidationError(f"The file is larger than the limit of {filesizeformat(limit)}.")
        return upload
