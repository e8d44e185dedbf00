"""The audit log's filter form (a GET form: filters live in the URL, so a filtered view can be shared)."""

from __future__ import annotations

from django import forms


class AuditFilterForm(forms.Form):
    actor = forms.CharField(required=False, max_length=150, help_text="Username (part of it), or 'system'.")
    action = forms.CharField(required=False, max_length=64, help_text="An action, or a prefix such as 'enforcement.'")
    object = forms.CharField(
        required=False,
        max_length=200,
        help_text="Object type, id, part of its name, or an account id named in a bulk action.",
    )
    date_from = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self) -> dict:
        data = super().clean() or {}
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            raise forms.ValidationError("The start date is after the end date.")
        return data
