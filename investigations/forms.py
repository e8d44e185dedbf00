"""Forms: parse and validate what the pages send; services do the work."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.contrib.auth.models import User

from investigations.models import Alert, Case
from investigations.selectors.alerts import DEFAULT_SORT, SORTS, AlertFilters
from investigations.selectors.cases import SIZES, CaseFilters, assignable_user_queryset

STATUS_ALL = "all"
# The batch format's identifier rule.
ACCOUNT_ID_RE = re.compile(r"[A-Za-z0-9_.:-]{1,128}")


class AlertFilterForm(forms.Form):
    """The queue's filters; they live in the URL so a filtered view can be shared."""

    detector = forms.ChoiceField(required=False)
    severity = forms.ChoiceField(required=False, choices=[("", "Any severity"), *Alert.Severity.choices])
    status = forms.ChoiceField(
        required=False,
        choices=[("", "New"), *[c for c in Alert.Status.choices if c[0] != "new"], (STATUS_ALL, "Any status")],
    )
    account = forms.CharField(required=False, max_length=128)
    score_min = forms.FloatField(required=False, min_value=0, max_value=1)
    score_max = forms.FloatField(required=False, min_value=0, max_value=1)
    date_from = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    sort = forms.ChoiceField(required=False, choices=[(s, s) for s in SORTS])

    def __init__(self, *args: Any, detectors: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["detector"].choices = [("", "Any detector"), *[(d, d) for d in detectors]]
        self.fields["score_min"].widget.attrs.update(step="0.05", placeholder="0")
        self.fields["score_max"].widget.attrs.update(step="0.05", placeholder="1")
        self.fields["account"].widget.attrs.update(placeholder="account id")

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        low, high = data.get("score_min"), data.get("score_max")
        if low is not None and high is not None and low > high:
            self.add_error("score_max", "The maximum score is below the minimum.")
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", "The end date is before the start date.")
        return data

    def filters(self) -> AlertFilters:
        """The accepted filters; a field that failed validation does not filter (its error is shown)."""
        data = self.cleaned_data if self.is_bound else {}
        status = data.get("status") or Alert.Status.NEW
        return AlertFilters(
            detector=data.get("detector") or "",
            severity=data.get("severity") or "",
            status="" if status == STATUS_ALL else status,
            account=(data.get("account") or "").strip(),
            score_min=data.get("score_min"),
            score_max=data.get("score_max"),
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
        )

    def sort_key(self) -> str:
        return (self.cleaned_data.get("sort") if self.is_bound else "") or DEFAULT_SORT


class AlertBulkForm(forms.Form):
    """A triage action on the selected alerts, or on every alert matching the filter."""

    ACTIONS = [
        ("acknowledge", "Acknowledge"),
        ("dismiss", "Dismiss"),
        ("attach", "Attach to case"),
        ("new_case", "Open new case"),
    ]
    action = forms.ChoiceField(choices=ACTIONS)
    alert = forms.ModelMultipleChoiceField(queryset=Alert.objects.all(), required=False, to_field_name="alert_id")
    select_all = forms.BooleanField(required=False)
    # The newest alert id when the queue was rendered: "all matching" means the alerts the analyst saw counted.
    max_id = forms.IntegerField(required=False, min_value=0)
    reason = forms.CharField(required=False, max_length=500)
    case = forms.ModelChoiceField(queryset=Case.objects.open(), required=False)
    title = forms.CharField(required=False, max_length=200)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        action = data.get("action")
        if not data.get("select_all") and not data.get("alert"):
            raise forms.ValidationError("Select at least one alert, or all alerts matching the filter.")
        if data.get("select_all") and data.get("max_id") is None:
            raise forms.ValidationError("Reload the queue before acting on every matching alert.")
        if action == "dismiss" and not (data.get("reason") or "").strip():
            self.add_error("reason", "Dismissing needs a reason.")
        if action == "attach" and not data.get("case"):
            self.add_error("case", "Choose the case to attach to.")
        if action == "new_case" and not (data.get("title") or "").strip():
            self.add_error("title", "Give the new case a title.")
        return data


class CaseFilterForm(forms.Form):
    q = forms.CharField(required=False, max_length=256)
    status = forms.ChoiceField(
        required=False, choices=[("", "Any status"), ("open", "Open (not closed)"), *Case.Status.choices]
    )
    risk = forms.ChoiceField(required=False, choices=[("", "Any risk"), *Case.RiskLevel.choices])
    assignee = forms.ChoiceField(required=False)
    size = forms.ChoiceField(required=False, choices=[("", "Any size"), *[(s, f"{s} accounts") for s in SIZES]])

    def __init__(self, *args: Any, users: list[User], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["assignee"].choices = [
            ("", "Anyone"),
            ("none", "Unassigned"),
            *[(str(u.pk), u.get_username()) for u in users],
        ]
        self.fields["q"].widget.attrs.update(
            placeholder="Account id, e-mail, IP, payment fingerprint or indicator", type="search", size="46"
        )

    def filters(self) -> CaseFilters:
        data = self.cleaned_data if self.is_bound and self.is_valid() else {}
        return CaseFilters(
            status=data.get("status", ""),
            risk=data.get("risk", ""),
            assignee=data.get("assignee", ""),
            size=data.get("size", ""),
            q=data.get("q", ""),
        )


class CaseStatusForm(forms.Form):
    status = forms.ChoiceField(choices=Case.Status.choices)
    resolution = forms.ChoiceField(required=False, choices=[("", "—"), *Case.Resolution.choices])
    reason = forms.CharField(required=False, max_length=2000)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("status") == Case.Status.CLOSED and not data.get("resolution"):
            self.add_error("resolution", "Choose a resolution to close the case.")
        return data


class CaseAssignForm(forms.Form):
    # Only users who may work a case can be given one (a viewer cannot act on it).
    assignee = forms.ModelChoiceField(
        queryset=User.objects.none(),
        required=False,
        error_messages={"invalid_choice": "Only analysts and leads (who may manage cases) can be assigned."},
    )
    reason = forms.CharField(required=False, max_length=2000)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = assignable_user_queryset()  # type: ignore[attr-defined]


class NoteForm(forms.Form):
    body = forms.CharField(max_length=20_000, widget=forms.Textarea(attrs={"rows": 4}))


class CaseMergeForm(forms.Form):
    other = forms.ModelChoiceField(queryset=Case.objects.open(), label="Merge this case into")
    reason = forms.CharField(max_length=2000)


class AccountIdsField(forms.MultipleChoiceField):
    """Account ids from the table's checkboxes; membership is checked by the service, not a choice list."""

    def valid_value(self, value: str) -> bool:
        return bool(ACCOUNT_ID_RE.fullmatch(value))


class CaseSplitForm(forms.Form):
    account = AccountIdsField(error_messages={"required": "Select the accounts to split off."})
    title = forms.CharField(required=False, max_length=200)
    reason = forms.CharField(max_length=2000)


class AccountMoveForm(forms.Form):
    account = forms.CharField(max_length=128)
    target = forms.ModelChoiceField(queryset=Case.objects.open(), label="Move to case")
    reason = forms.CharField(max_length=2000)
