"""REST API of enforcement: request actions, approve/reject them, and the change feed for polling gateways.

The same services as the HTML views, so the four-eyes rules are identical.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404
from rest_framework import status
from rest_framework.exceptions import PermissionDenied as ApiPermissionDenied
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from investigations.enforcement import delivery, selectors, services
from investigations.enforcement.api.serializers import (
    ActionInputSerializer,
    ActionOutputSerializer,
    ReviewInputSerializer,
)
from investigations.models import Case

T = TypeVar("T")


def _call(fn: Callable[..., T], **kwargs: Any) -> T:
    """Run a service, turning its refusals into 403 and its input errors into 400."""
    try:
        return fn(**kwargs)
    except PermissionDenied as exc:
        raise ApiPermissionDenied(str(exc) or None) from exc
    except services.EnforcementError as exc:
        raise ValidationError({"detail": str(exc)}) from exc


class ActionListApi(APIView):
    """POST a ban/unban request; GET recent actions (`?status=pending_approval` for the queue)."""

    def get(self, request: Request) -> Response:
        wanted = request.query_params.get("status", "")
        actions = _call(selectors.action_list_for_user, user=request.user, status=wanted)
        return Response({"results": ActionOutputSerializer(actions[:100], many=True).data})

    def post(self, request: Request) -> Response:
        data = ActionInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        params = data.validated_data
        case = None
        if "case" in params:
            if not request.user.has_perm(selectors.VIEW_PERMISSION):
                raise ApiPermissionDenied
            case = get_object_or_404(Case.objects.visible_to(request.user), pk=params["case"])
        action = _call(
            services.action_request,
            actor=request.user,
            kind=params["action"],
            reason=params["reason"],
            accounts=params.get("accounts"),
            case=case,
            scope=params.get("scope", ""),
        )
        return Response(ActionOutputSerializer(action).data, status=status.HTTP_201_CREATED)


class ActionDetailApi(APIView):
    def get(self, request: Request, action_id: int) -> Response:
        action = _call(selectors.action_get_for_user, user=request.user, action_id=action_id)
        progress = selectors.action_progress(action=action)
        return Response({**ActionOutputSerializer(action).data, "delivery": progress.__dict__})


class ActionReviewApi(APIView):
    """POST approve/ or reject/ with {"comment": "..."} (a comment is required to reject)."""

    approve = True

    def post(self, request: Request, action_id: int) -> Response:
        data = ReviewInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        service = services.action_approve if self.approve else services.action_reject
        action = _call(service, action_id=action_id, actor=request.user, comment=data.validated_data["comment"])
        return Response(ActionOutputSerializer(action).data)


class ChangeFeedApi(APIView):
    """`GET ?after=<cursor>&limit=`: changes in order and the cursor to ask with next time."""

    def get(self, request: Request) -> Response:
        try:
            after = int(request.query_params.get("after", "0") or 0)
            limit = int(request.query_params.get("limit", "500"))
        except ValueError as exc:
            raise ValidationError({"detail": "'after' and 'limit' must be integers."}) from exc
        if after < 0 or not 1 <= limit <= 1000:
            raise ValidationError({"detail": "'after' must be >= 0 and 'limit' between 1 and 1000."})
        changes = _call(selectors.changes_after_for_user, user=request.user, after=after, limit=limit)
        return Response(
            {
                "results": [delivery.change_payload(c) for c in changes],
                "next_cursor": str(changes[-1].pk if changes else after),
                "has_more": len(changes) == limit,
            }
        )
