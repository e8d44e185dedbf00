"""REST API for batches: upload (202 + status URL), status and counts, rejected lines."""

from __future__ import annotations

from rest_framework import status
from rest_framework.exceptions import PermissionDenied
from rest_framework.pagination import PageNumberPagination
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ingest import selectors, services
from ingest.api.serializers import BatchInputSerializer, BatchOutputSerializer, RejectedLineOutputSerializer
from ingest.models import Batch


class BatchListApi(APIView):
    """GET: recent batches (paginated). POST: a multipart `file`; answers 202 and where to poll."""

    parser_classes = [MultiPartParser, FormParser]

    def get(self, request: Request) -> Response:
        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(selectors.batch_list_for_user(user=request.user), request, view=self)
        data = BatchOutputSerializer(page, many=True, context={"request": request}).data
        return paginator.get_paginated_response(data)

    def post(self, request: Request) -> Response:
        if not request.user.has_perm(selectors.UPLOAD_PERMISSION):
            raise PermissionDenied("You may not upload batches.")
        serializer = BatchInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        batch = services.batch_create(
            source=Batch.Source.API,
            actor=request.user,
            upload=serializer.validated_data["file"],
            ip=request.META.get("REMOTE_ADDR"),
        )
        batch.refresh_from_db()  # in embedded mode the batch may already be done
        data = BatchOutputSerializer(batch, context={"request": request}).data
        return Response(data, status=status.HTTP_202_ACCEPTED, headers={"Location": data["status_url"]})


class BatchDetailApi(APIView):
    def get(self, request: Request, batch_id: int) -> Response:
        batch = selectors.batch_get_for_user(user=request.user, batch_id=batch_id)
        return Response(BatchOutputSerializer(batch, context={"request": request}).data)


class BatchRejectedApi(APIView):
    """The batch's rejected lines, by line number, paginated."""

    def get(self, request: Request, batch_id: int) -> Response:
        batch = selectors.batch_get_for_user(user=request.user, batch_id=batch_id)
        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(selectors.batch_rejected_lines(batch=batch), request, view=self)
        return paginator.get_paginated_response(RejectedLineOutputSerializer(page, many=True).data)
