"""REST API of detection: the cases it opened, paginated and filterable, and one case with its evidence."""

from __future__ import annotations

from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from investigations.detection import selectors
from investigations.models import Case


class CaseListApi(APIView):
    """`GET /api/v1/cases/?status=new&min_score=0.5&account=acct_1&page=2`."""

    permission_classes = [IsAuthenticated]

    class FilterSerializer(serializers.Serializer):
        status = serializers.ChoiceField(choices=Case.Status.choices, required=False)
        min_score = serializers.FloatField(min_value=0.0, max_value=1.0, required=False)
        account = serializers.CharField(max_length=128, required=False)

    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        title = serializers.CharField()
        status = serializers.CharField()
        risk_score = serializers.FloatField()
        accounts = serializers.IntegerField(source="member_count")
        flagged = serializers.IntegerField(source="flagged_count")
        created_at = serializers.DateTimeField()
        updated_at = serializers.DateTimeField()

    def get(self, request: Request) -> Response:
        filters = self.FilterSerializer(data=request.query_params)
        if not filters.is_valid():
            raise ValidationError(filters.errors)
        cases = selectors.case_list_for_user(user=request.user, **filters.validated_data)
        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(cases, request, view=self)
        return paginator.get_paginated_response(self.OutputSerializer(page, many=True).data)


class CaseDetailApi(APIView):
    """`GET /api/v1/cases/{id}/`: the case, its risk reasons, members with evidence, shared values."""

    permission_classes = [IsAuthenticated]

    class MemberSerializer(serializers.Serializer):
        account = serializers.CharField(source="account.account_id")
        flagged = serializers.BooleanField(source="account.is_flagged")
        source = serializers.CharField()
        pinned = serializers.BooleanField()
        link_strength = serializers.FloatField()
        evidence = serializers.JSONField()

    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        title = serializers.CharField()
        status = serializers.CharField()
        resolution = serializers.CharField()
        risk_score = serializers.FloatField()
        risk_reasons = serializers.JSONField()
        created_at = serializers.DateTimeField()
        updated_at = serializers.DateTimeField()
        merged_into = serializers.IntegerField(source="merged_into_id", allow_null=True)

    def get(self, request: Request, case_id: int) -> Response:
        case = selectors.case_get_for_user(user=request.user, case_id=case_id)
        data = dict(self.OutputSerializer(case).data)
        data["members"] = self.MemberSerializer(case.memberships.all(), many=True).data
        data["shared_indicators"] = selectors.case_shared_indicators(user=request.user, case=case)
        return Response(data)
