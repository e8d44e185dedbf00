"""Forms of the sharing pages: they parse and validate input; the services do the work."""

from __future__ import annotations

import json

from django import forms

from investigations.sharing.models import Partner, SharingCommunity, Tlp


def _case_ids(raw: str) -> list[int]:
    ids = []
    for part in raw.replace(" ", ",").split(","):
        if part.strip():
            if not part.strip().lstrip("#").isdigit():
                raise forms.ValidationError(f"{part.strip()!r} is not a case number.")
            ids.append(int(part.strip().lstrip("#")))
    if not ids:
        raise forms.ValidationError("Give at least one case number.")
    return sorted(set(ids))


class PreviewForm(forms.Form):
    """Which cases, for which community, under which TLP."""

    cases = forms.CharField(max_length=500, help_text="Case numbers; several cases export as one campaign.")
    community = forms.ModelChoiceField(queryset=SharingCommunity.objects.order_by("name"), empty_label=None)
    tlp = forms.ChoiceField(
        choices=[
            (Tlp.CLEAR, "TLP:CLEAR"),
            (Tlp.GREEN, "TLP:GREEN"),
            (Tlp.AMBER, "TLP:AMBER"),
            (Tlp.AMBER_STRICT, "TLP:AMBER+STRICT"),
            (Tlp.RED, "TLP:RED"),
        ],
        initial=Tlp.AMBER,
        label="TLP",
    )

    def clean_cases(self) -> list[int]:
        return _case_ids(self.cleaned_data["cases"])


class RequestForm(PreviewForm):
    reason = forms.CharField(max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 2}))


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=[("approve", "Approve"), ("reject", "Reject")])
    reason = forms.CharField(max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def clean(self) -> dict:
        data = super().clean()
        if data.get("decision") == "reject" and not (data.get("reason") or "").strip():
            self.add_error("reason", "Say why the bundle is rejected.")
        return data


class ImportForm(forms.Form):
    partner = forms.ModelChoiceField(queryset=Partner.objects.filter(is_active=True).order_by("name"))
    bundle = forms.FileField(help_text="STIX 2.1 bundle (JSON).")
    signature = forms.FileField(required=False, help_text="Detached JWS, required when the partner's key is on file.")


def _jwk(raw: str) -> dict | None:
    if not raw.strip():
        return None
    try:
        value = json.loads(raw)
    except ValueError as exc:
        raise forms.ValidationError("The public key must be a JWK in JSON.") from exc
    if not isinstance(value, dict):
        raise forms.ValidationError("The public key must be a JWK object.")
    return value


class PartnerForm(forms.Form):
    name = forms.CharField(max_length=120)
    username = forms.SlugField(max_length=64, help_text="HTTP Basic user name for our TAXII server.")
    communities = forms.ModelMultipleChoiceField(
        queryset=SharingCommunity.objects.order_by("name"), required=False, widget=forms.CheckboxSelectMultiple
    )
    public_jwk = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}), label="Public key (JWK)")
    poll_url = forms.URLField(required=False, assume_scheme="https", label="Partner's TAXII collection URL (polled)")
    poll_username = forms.CharField(max_length=128, required=False)
    poll_password = forms.CharField(max_length=256, required=False, widget=forms.PasswordInput)

    def clean_public_jwk(self) -> dict | None:
        return _jwk(self.cleaned_data["public_jwk"])


class PartnerEditForm(PartnerForm):
    is_active = forms.BooleanField(required=False)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        del self.fields["name"], self.fields["username"]


class CommunityForm(forms.Form):
    name = forms.CharField(max_length=120)
    key_id = forms.CharField(max_length=64, help_text="Key id in SHARING_COMMUNITY_KEYS.")
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))


class PullForm(forms.Form):
    case = forms.IntegerField(required=False, min_value=1, help_text="Empty: open a new case.")
