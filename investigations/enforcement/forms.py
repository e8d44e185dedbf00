"""Forms of the enforcement pages: input parsing only; the rules live in `services`."""

from __future__ import annotations

import re

from django import forms

from investigations.enforcement.models import EnforcementAction

_SEPARATORS = re.compile(r"[\s,;]+")
# Text areas take their own line at a readable width (the stylesheet is shared; an attribute keeps this local).
WIDE = "display:block;width:100%;max-width:48rem;margin-top:.25rem"


SELECTED = "selected"


class BanForm(forms.Form):
    """Ban or unban a case (with a scope) or a list of accounts (pasted ids and/or checked boxes)."""

    action = forms.ChoiceField(choices=EnforcementAction.Kind.choices, initial=EnforcementAction.Kind.BAN)
    reason = forms.CharField(max_length=2000, widget=forms.Textarea(attrs={"rows": 2, "style": WIDE}), required=False)
    case = forms.IntegerField(required=False, min_value=1)
    scope = forms.ChoiceField(
        choices=[
            (EnforcementAction.Scope.FLAGGED, "Flagged accounts only"),
            (EnforcementAction.Scope.ALL, "All accounts (incl. linked, not flagged)"),
            (SELECTED, "Accounts ticked in the case's list"),
        ],
        initial=EnforcementAction.Scope.FLAGGED,
        required=False,
    )
    account_ids = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "style": WIDE, "placeholder": "acct_000123, acct_000456 …"}),
        help_text="Account ids separated by spaces, commas or new lines.",
    )

    def clean_reason(self) -> str:
        reason = self.cleaned_data["reason"].strip()
        if not reason:
            raise forms.ValidationError("A reason is required (for unbans too).")
        return reason

    def clean(self) -> dict:
        data = super().clean() or {}
        pasted: list[str | int] = [s for s in _SEPARATORS.split(data.get("account_ids") or "") if s]
        # Checkboxes elsewhere on a page (`<input name="accounts" form="ban-form">`) send primary keys.
        checked = self.data.getlist("accounts") if hasattr(self.data, "getlist") else []
        if any(not str(v).isdigit() for v in checked):
            raise forms.ValidationError("Selected accounts must be account keys.")
        data["identifiers"] = [*pasted, *(int(v) for v in checked)]
        if data.get("scope") == SELECTED:
            # The case page's member checkboxes (`name="account"`, provider ids) come along via hx-include.
            ticked = [v for v in self.data.getlist("account") if v.strip()] if hasattr(self.data, "getlist") else []
            if not ticked:
                raise forms.ValidationError("Tick accounts in the case's account list first.")
            data["case"], data["scope"], data["identifiers"] = None, "", ticked
        if data.get("case") and data["identifiers"]:
            raise forms.ValidationError("Choose a case or accounts, not both.")
        if not data.get("case") and not data["identifiers"]:
            raise forms.ValidationError("Choose a case or enter account ids.")
        if data.get("case") and not data.get("scope"):
            self.add_error("scope", "Choose which accounts of the case.")
        return data


class ReviewForm(forms.Form):
    decision = forms.ChoiceField(choices=[("approve", "Approve"), ("reject", "Reject")])
    comment = forms.CharField(max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 2, "style": WIDE}))
