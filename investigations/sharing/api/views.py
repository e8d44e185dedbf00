"""REST API of the sharing app: the same services as the pages (request, decide, download, import)."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from rest_framework import serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from investigations.models import Case
from investigations.sharing import importer, selectors, services
from investigations.sharing.models import Partner, Publication, SharingCommunity, Tlp


class PublicationOutput(serializers.ModelSerializer):
    cases = serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    community = serializers.CharField(source="community.name")
    requested_by = serializers.CharField(source="requested_by.username")
    decided_by = serializers.CharField(source="decided_by.username", default=None)
    values_shared = serializers.SerializerMethodField()
    values_withheld = serializers.SerializerMethodField()

    class Meta:
        model = Publication
        fields = [
            "id",
            "cases",
            "community",
            "tlp",
            "status",
            "version",
            "bundle_sha256",
            "requested_by",
            "requested_at",
            "decided_by",
            "decided_at",
            "decision_reason",
            "values_shared",
            "values_withheld",
        ]

    def get_values_shared(self, obj: Publication) -> int:
        return len(obj.summary.get("included", []))

    def get_values_withheld(self, obj: Publication) -> int:
        return len(obj.summary.get("withheld", []))


class PublicationListApi(APIView):
    class InputSerializer(serializers.Serializer):
        cases = serializers.ListField(child=serializers.IntegerField(min_value=1), min_length=1)
        community = serializers.PrimaryKeyRelatedField(queryset=SharingCommunity.objects.all())
        tlp = serializers.ChoiceField(choices=Tlp.choices, default=Tlp.AMBER)
        reason = serializers.CharField(required=False, allow_blank=True, default="")

    def get(self, request: Request) -> Response:
        publications = selectors.publication_list(user=request.user, status=request.query_params.get("status"))
        return Response(PublicationOutput(publications[:200], many=True).data)

    def post(self, request: Request) -> Response:
        data = self._validated(request)
        try:
            cases = selectors.cases_for_export(user=request.user, case_ids=data["cases"])
            publication = services.publication_request(
                cases=cases, community=data["community"], level=data["tlp"], actor=request.user, reason=data["reason"]
            )
        except Case.DoesNotExist:
            return Response({"cases": ["One of these cases does not exist."]}, status=status.HTTP_400_BAD_REQUEST)
        except services.SharingError as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_400_BAD_REQUEST)
        return Response(PublicationOutput(publication).data, status=status.HTTP_201_CREATED)

    def _validated(self, request: Request) -> dict:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data


class PublicationDetailApi(APIView):
    def get(self, request: Request, publication_id: int) -> Response:
        return Response(
            PublicationOutput(selectors.publication_get(user=request.user, publication_id=publication_id)).data
        )


class PublicationDecisionApi(APIView):
    class InputSerializer(serializers.Serializer):
        decision = serializers.ChoiceField(choices=["approve", "reject"])
        reason = serializers.CharField(required=False, allow_blank=True, default="")

    def post(self, request: Request, publication_id: int) -> Response:
        publication = selectors.publication_get(user=request.user, publication_id=publication_id)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            if data["decision"] == "approve":
                publication = services.publication_approve(
                    publication=publication, actor=request.user, reason=data["reason"]
                )
            else:
                publication = services.publication_reject(
                    publication=publication, actor=request.user, reason=data["reason"]
                )
        except services.SharingError as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        return Response(PublicationOutput(publication).data)


class PublicationBundleApi(APIView):
    """The published bundle; its detached JWS rides in the `X-Signature-JWS` header."""

    def get(self, request: Request, publication_id: int) -> HttpResponse:
        import json

        publication = selectors.publication_get(user=request.user, publication_id=publication_id)
        if publication.status != Publication.Status.PUBLISHED:
            return Response({"detail": "Only published bundles can be downloaded."}, status=status.HTTP_404_NOT_FOUND)
        response = HttpResponse(json.dumps(publication.bundle), content_type="application/stix+json;version=2.1")
        response["X-Signature-JWS"] = publication.jws
        return response


class ImportApi(APIView):
    parser_classes = [MultiPartParser]

    class InputSerializer(serializers.Serializer):
        partner = serializers.PrimaryKeyRelatedField(queryset=Partner.objects.filter(is_active=True))
        bundle = serializers.FileField()
        signature = serializers.CharField(required=False, allow_blank=True, default="")

    def post(self, request: Request) -> Response:
        if not request.user.has_perm(selectors.EXPORT):
            raise PermissionDenied
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        raw = data["bundle"].read(settings.SHARING_MAX_BUNDLE_BYTES + 1)
        try:
            record = importer.import_bundle(
                partner=data["partner"],
                raw=raw,
                jws=data["signature"] or None,
                actor=request.user,
                source="api",
                filename=data["bundle"].name,
            )
        except importer.BundleRejected as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_400_BAD_REQUEST)
        return Response(
            {
                "id": record.pk,
                "signature": record.signature,
                "objects": record.object_count,
                "indicators": record.indicator_count,
                "matches": record.match_count,
                "alerts": record.alert_count,
            },
            status=status.HTTP_201_CREATED,
        )
