"""Input and output shapes of the enforcement API."""

from __future__ import annotations

from rest_framework import serializers

from investigations.enforcement.models import EnforcementAction


class AccountIdField(serializers.Field):
    """An account named by the provider's id (string) or by our primary key (integer)."""

    def to_internal_value(self, data: object) -> str | int:
        if isinstance(data, bool) or not isinstance(data, str | int):
            raise serializers.ValidationError("An account is a string id or an integer key.")
        if isinstance(data, str) and not data.strip():
            raise serializers.ValidationError("An account id cannot be empty.")
        return data

    def to_representation(self, value: object) -> object:
        return value


class ActionInputSerializer(serializers.Serializer):
    action = serializers.ChoiceField(choices=EnforcementAction.Kind.choices)
    reason = serializers.CharField(max_length=2000, allow_blank=True, trim_whitespace=True)
    accounts = serializers.ListField(child=AccountIdField(), required=False, max_length=100_000)
    case = serializers.IntegerField(required=False, min_value=1)
    scope = serializers.ChoiceField(
        choices=[EnforcementAction.Scope.FLAGGED, EnforcementAction.Scope.ALL], required=False
    )

    def validate(self, attrs: dict) -> dict:
        if not attrs.get("reason"):
            raise serializers.ValidationError({"reason": "A reason is required."})
        has_case, has_accounts = "case" in attrs, bool(attrs.get("accounts"))
        if has_case == has_accounts:
            raise serializers.ValidationError("Give either 'accounts' (a non-empty list) or 'case' with 'scope'.")
        if has_case and "scope" not in attrs:
            raise serializers.ValidationError({"scope": "Choose 'flagged' or 'all' for a case."})
        return attrs


class ReviewInputSerializer(serializers.Serializer):
    comment = serializers.CharField(max_length=2000, allow_blank=True, required=False, default="")


class ActionOutputSerializer(serializers.ModelSerializer):
    action = serializers.CharField(source="kind")
    requested_by = serializers.CharField(source="requested_by.username")
    reviewed_by = serializers.CharField(source="reviewed_by.username", default=None)

    class Meta:
        model = EnforcementAction
        fields = [
            "id", "action", "status", "approval_reason", "scope", "case", "reason", "account_count", "changed_count",
            "requested_by", "requested_at", "reviewed_by", "reviewed_at", "review_comment", "applied_at",
        ]  # fmt: skip
