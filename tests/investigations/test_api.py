"""The REST API calls the same selectors and services as the pages."""

from __future__ import annotations

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from investigations.models import Alert, AuditEntry, Case

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(analyst) -> APIClient:
    client = APIClient()
    client.force_authenticate(analyst)
    return client


def test_it_lists_alerts_with_the_queue_filters(api, scenario):
    response = api.get(reverse("api-alerts"), {"detector": "volume-anomaly", "sort": "-score"})
    assert response.status_code == 200
    assert [a["score"] for a in response.data["results"]] == [0.7, 0.6, 0.5]
    assert api.get(reverse("api-alerts"), {"score_min": "2"}).status_code == 400


def test_it_triages_through_the_services(api, scenario):
    ids = [a.alert_id for a in scenario.loose_alerts]
    response = api.post(
        reverse("api-alerts-triage"), {"action": "new_case", "alert_ids": ids, "title": "API case"}, format="json"
    )
    assert response.status_code == 200
    case = Case.objects.get(pk=response.data["case_id"])
    assert case.memberships.count() == 3
    assert AuditEntry.objects.filter(action="alert.attached").exists()
    response = api.post(reverse("api-alerts-triage"), {"action": "dismiss", "alert_ids": ids}, format="json")
    assert response.status_code == 400 and not Alert.objects.filter(status="dismissed").exists()


def test_a_viewer_cannot_triage_or_change_status(viewer, scenario):
    client = APIClient()
    client.force_authenticate(viewer)
    ids = [scenario.loose_alerts[0].alert_id]
    assert (
        client.post(
            reverse("api-alerts-triage"), {"action": "acknowledge", "alert_ids": ids}, format="json"
        ).status_code
        == 403
    )
    url = reverse("api-case-status", args=[scenario.case.pk])
    assert client.post(url, {"status": "investigating"}, format="json").status_code == 403


def test_it_changes_case_status(api, scenario):
    url = reverse("api-case-status", args=[scenario.case.pk])
    assert api.post(url, {"status": "closed"}, format="json").status_code == 400
    response = api.post(url, {"status": "closed", "resolution": "legitimate"}, format="json")
    assert response.data == {"id": scenario.case.pk, "status": "closed", "resolution": "legitimate"}


def test_triage_with_unknown_alert_ids_is_refused_and_lists_them(api, scenario):
    known = scenario.loose_alerts[0].alert_id
    response = api.post(
        reverse("api-alerts-triage"),
        {"action": "acknowledge", "alert_ids": [known, "alrt_nope", "alrt_typo"]},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["unknown_alert_ids"] == ["alrt_nope", "alrt_typo"]
    assert "alrt_nope" in response.json()["errors"][0]
    assert Alert.objects.get(alert_id=known).status == Alert.Status.NEW
