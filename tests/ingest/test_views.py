"""Upload page and batch page: permissions, the polling partial, rejected lines."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import TestCase
from django.urls import reverse

from ingest.models import Batch
from investigations.models import AuditEntry
from tests.ingest.conftest import encode, event

pytestmark = pytest.mark.django_db


def upload(client, content: bytes, name: str = "b.ndjson"):
    with TestCase.captureOnCommitCallbacks(execute=True):
        return client.post(reverse("batch-list"), {"file": SimpleUploadedFile(name, content)})


def test_pages_require_login(client):
    response = client.get(reverse("batch-list"))
    assert response.status_code == 302 and "/login/" in response["Location"]
    assert client.get(reverse("batch-detail", args=[1])).status_code == 302


def test_a_user_without_role_may_not_view(client, django_user_model):
    client.force_login(django_user_model.objects.create_user("nobody", password="x"))
    assert client.get(reverse("batch-list")).status_code == 403


def test_a_viewer_sees_batches_but_may_not_upload(client, viewer):
    client.force_login(viewer)
    response = client.get(reverse("batch-list"))
    assert response.status_code == 200 and b"Upload a batch" not in response.content
    assert upload(client, encode([event()])).status_code == 403
    assert not Batch.objects.exists()


def test_an_analyst_uploads_and_is_sent_to_the_batch_page(analyst_client, analyst):
    response = upload(analyst_client, encode([event("e1"), "{oops", event("e2")]))
    batch = Batch.objects.get()
    assert response.status_code == 302 and response["Location"] == batch.get_absolute_url()
    assert batch.source == Batch.Source.UPLOAD and batch.created_by == analyst
    assert AuditEntry.objects.filter(action="batch.created", actor=analyst, object_id=str(batch.pk)).exists()
    page = analyst_client.get(batch.get_absolute_url())
    assert page.status_code == 200
    assert b"Rejected lines" in page.content and b"not valid JSON" in page.content
    assert "ingest/batch_detail.html" in [t.name for t in page.templates]


def test_an_upload_without_file_shows_the_form_again(analyst_client):
    response = analyst_client.post(reverse("batch-list"), {})
    assert response.status_code == 400 and b"This field is required" in response.content


def test_the_status_partial_polls_until_the_batch_is_finished(analyst_client):
    batch = Batch.objects.create(source=Batch.Source.UPLOAD, filename="x.ndjson", status=Batch.Status.LOADING,
                                 chunks_total=4, chunks_done=1)  # fmt: skip
    response = analyst_client.get(batch.get_absolute_url(), headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert b'id="batch-status"' in response.content and b"<html" not in response.content
    assert b'hx-trigger="load delay:500ms, every 2s"' in response.content and b"25%" in response.content

    Batch.objects.filter(pk=batch.pk).update(status=Batch.Status.DONE, events_new=7)
    response = analyst_client.get(batch.get_absolute_url(), headers={"HX-Request": "true"})
    assert response.status_code == 286  # htmx: swap and stop polling
    assert b"hx-trigger" not in response.content and b"No line was rejected" in response.content


def test_rejected_lines_are_paginated(analyst_client):
    batch = Batch.objects.create(source=Batch.Source.UPLOAD, filename="x.ndjson", status=Batch.Status.DONE)
    batch.rejected_lines.bulk_create(
        [batch.rejected_lines.model(batch=batch, line_no=n, reason=f"reason {n}") for n in range(1, 121)]
    )
    url = batch.get_absolute_url() + "?page=3"
    response = analyst_client.get(url, headers={"HX-Request": "true", "HX-Target": "rejected-table"})
    assert response.status_code == 200 and b'id="rejected-table"' in response.content
    assert b"reason 101" in response.content and b"reason 100<" not in response.content
    assert b"Page 3 of 3" in response.content


def test_the_list_shows_batches_without_n_plus_one(analyst_client, django_assert_max_num_queries):
    for n in range(5):
        Batch.objects.create(source=Batch.Source.CLI, filename=f"{n}.ndjson")
    with django_assert_max_num_queries(12):
        response = analyst_client.get(reverse("batch-list"))
    assert response.status_code == 200 and b"4.ndjson" in response.content
