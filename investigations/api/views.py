"""REST endpoints for the alert queue and cases: the same selectors and services as the HTML pages."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404
from rest_framework import serializers, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from investigations import forms
from investigations.models import Alert, Case
from investigations.selectors import alerts as alert_selectors
from investigations.selectors import cases as case_selectors
from investigations.services import alerts as alert_services
from investigations.services import cases as case_services


def _require(request: Request, perm: str) -> None:
    if not request.user.has_perm(perm):
        raise PermissionDenied(f"Needs the permission {perm}.")


class AlertListApi(APIView):
    """GET /api/v1/alerts/?detector=&severity=&status=&account=&score_min=&score_max=&date_from=&date_to=&sort="""

    class OutputSerializer(serializers.ModelSerializer):
        account_id = serializers.CharField(source="account.account_id")

        class Meta:
            model = Alert
            fields = [
                "alert_id", "account_id", "detector", "score", "severity", "summary", "raised_at", "status",
                "case_id", "dismiss_reason", "triaged_at",
            ]  # fmt: skip

    def get(self, request: Request) -> Response:
        _require(request, "investigations.view_alert")
        form = forms.AlertFilterForm(request.query_params.dict() or None, detectors=alert_selectors.detector_names())
        if form.is_bound and not form.is_valid():
            return Response({"errors": form.errors}, status=status.HTTP_400_BAD_REQUEST)
        qs = (
            alert_selectors.alert_filter(user=request.user, filters=form.filters())
            .select_related("account")
            .order_by(*alert_selectors.SORTS[form.sort_key()])
        )
        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(qs, request, view=self)
        return paginator.get_paginated_response(self.OutputSerializer(page, many=True).data)


class AlertTriageApi(APIView):
    """POST /api/v1/alerts/triage/ {"action": "acknowledge|dismiss|attach|new_case", "alert_ids": [...],
    "reason": "...", "case_id": 1, "title": "..."}"""

    class InputSerializer(serializers.Serializer):
        action = serializers.ChoiceField(choices=[a for a, _ in forms.AlertBulkForm.ACTIONS])
        alert_ids = serializers.ListField(child=serializers.CharField(max_length=128), min_length=1, max_length=10_000)
        reason = serializers.CharField(required=False, allow_blank=True, max_length=500, default="")
        case_id = serializers.IntegerField(required=False)
        title = serializers.CharField(required=False, allow_blank=True, max_length=200, default="")

    def post(self, request: Request) -> Response:
        _require(request, "investigations.triage_alert")
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        alerts = alert_selectors.alerts_visible_to(request.user).filter(alert_id__in=values["alert_ids"])
        # A typo or a stale id must not shrink the action silently: name what was not found, change nothing.
        found = set(alerts.values_list("alert_id", flat=True))
        unknown = sorted(set(values["alert_ids"]) - found)
        if unknown:
            return Response(
                {"errors": [f"Unknown alert ids: {', '.join(unknown[:50])}"], "unknown_alert_ids": unknown},
                status=status.HTTP_400_BAD_REQUEST,
            )
        try:
            if values["action"] == "acknowledge":
                return Response({"changed": alert_services.alerts_acknowledge(alerts=alerts, actor=request.user)})
            if values["action"] == "dismiss":
                changed = alert_services.alerts_dismiss(alerts=alerts, actor=request.user, reason=values["reason"])
                return Response({"changed": changed})
            if values["action"] == "attach":
                case = get_object_or_404(case_selectors.cases_visible_to(request.user), pk=values.get("case_id"))
                result = alert_services.alerts_attach_to_case(
                    alerts=alerts, case=case, actor=request.user, reason=values["reason"]
                )
            else:
                result = alert_services.case_open_from_alerts(
                    alerts=alerts, actor=request.user, title=values["title"], reason=values["reason"]
                )
        except ValidationError as exc:
            return Response({"errors": exc.messages}, status=status.HTTP_400_BAD_REQUEST)
        return Response(
            {
                "case_id": result.case.pk,
                "alerts": result.alerts,
                "accounts_added": result.accounts_added,
                "accounts_in_other_cases": result.accounts_in_other_cases,
            }
        )


class CaseStatusApi(APIView):
    """POST /api/v1/cases/<id>/status/ {"status": "...", "resolution": "...", "reason": "..."}"""

    def post(self, request: Request, case_id: int) -> Response:
        _require(request, "investigations.manage_case")
        case = get_object_or_404(Case.objects.visible_to(request.user), pk=case_id)
        form = forms.CaseStatusForm(request.data)
        if not form.is_valid():
            return Response({"errors": form.errors}, status=status.HTTP_400_BAD_REQUEST)
        try:
            case = case_services.case_change_status(case=case, actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            return Response({"errors": exc.messages}, status=status.HTTP_400_BAD_REQUEST)
        return Response({"id": case.pk, "status": case.status, "resolution": case.resolution})
