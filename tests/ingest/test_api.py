"""REST API: upload answers 202 with a status URL; status, counts and rejected lines; auth."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import TestCase
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from ingest.models import Batch
from tests.ingest.conftest import encode, event

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(analyst) -> APIClient:
    client = APIClient()
    token = Token.objects.create(user=analyst)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


def post(client, content: bytes):
    with TestCase.captureOnCommitCallbacks(execute=True):
        return client.post("/api/v1/batches/", {"file": SimpleUploadedFile("b.ndjson", content)}, format="multipart")


def test_anonymous_requests_are_refused():
    client = APIClient()
    assert client.get("/api/v1/batches/").status_code in (401, 403)
    assert post(client, b"{}").status_code in (401, 403)


def test_upload_with_a_token_answers_202_and_the_status_url(api):
    response = post(api, encode([event("e1"), event("e2"), "[]"]))
    assert response.status_code == 202
    body = response.json()
    batch = Batch.objects.get()
    assert body["id"] == batch.pk and body["status"] in {"pending", "done"}
    assert body["status_url"].endswith(f"/api/v1/batches/{batch.pk}/") and response["Location"] == body["status_url"]

    status = api.get(body["status_url"]).json()
    assert (status["status"], status["progress"], status["events"], status["rejected"]) == ("done", 100, 2, 1)
    rejected = api.get(f"/api/v1/batches/{batch.pk}/rejected/").json()
    assert rejected["count"] == 1 and rejected["results"] == [{"line_no": 3, "reason": "not a JSON object (got array)"}]


def test_upload_needs_a_file_and_the_upload_permission(api, viewer):
    assert post(api, b"").status_code == 400  # empty upload: DRF refuses an empty file
    client = APIClient()
    client.force_authenticate(viewer)
    assert post(client, encode([event()])).status_code == 403
    assert client.get("/api/v1/batches/").status_code == 200


def test_unknown_batch_is_404(api):
    assert api.get("/api/v1/batches/999999/").status_code == 404
    assert api.get("/api/v1/batches/999999/rejected/").status_code == 404
