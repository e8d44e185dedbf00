"""The alert queue: filters in the URL, htmx partials, bulk triage, permissions, query count."""

from __future__ import annotations

import json
import re

import pytest
from django.db import connection, reset_queries
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from investigations.models import Alert, Case
from tests.investigations.factories import AlertFactory

pytestmark = pytest.mark.django_db
HTMX = {"HX-Request": "true"}


def test_the_queue_shows_new_alerts_and_filters_by_the_url(analyst_client, scenario):
    response = analyst_client.get(reverse("alert-list"))
    assert response.status_code == 200
    assert "investigations/alert_list.html" in [t.name for t in response.templates]
    assert response.context["page"].paginator.count == 3 + len(scenario.alerts)

    response = analyst_client.get(reverse("alert-list"), {"detector": "volume-anomaly", "score_min": "0.55"})
    assert sorted(a.alert_id for a in response.context["page"]) == sorted(
        a.alert_id for a in scenario.loose_alerts if a.score >= 0.55
    )


def test_bad_filter_values_are_reported_not_crashed_on(analyst_client, scenario):
    response = analyst_client.get(reverse("alert-list"), {"score_min": "0.9", "score_max": "0.1"})
    assert response.status_code == 200
    assert b"The maximum score is below the minimum" in response.content


def test_an_htmx_request_gets_only_the_table_partial(analyst_client, scenario):
    response = analyst_client.get(reverse("alert-list"), {"status": "all"}, headers=HTMX)
    assert response.status_code == 200
    assert response.content.lstrip().startswith(b'<div id="alert-table"')
    assert b"<html" not in response.content


def test_bulk_acknowledge_over_htmx_returns_the_table_and_an_event(analyst_client, scenario):
    ids = [a.alert_id for a in scenario.loose_alerts[:2]]
    response = analyst_client.post(reverse("alert-bulk"), {"action": "acknowledge", "alert": ids}, headers=HTMX)
    assert response.status_code == 200
    assert "alertsUpdated" in json.loads(response["HX-Trigger"])
    assert b"Acknowledged 2 alerts" in response.content
    assert Alert.objects.filter(alert_id__in=ids, status=Alert.Status.ACKNOWLEDGED).count() == 2


def test_select_all_applies_to_every_alert_matching_the_carried_filter(analyst_client, scenario):
    response = analyst_client.post(
        reverse("alert-bulk"),
        {"action": "dismiss", "reason": "load test", "select_all": "1", "detector": "volume-anomaly",
         "max_id": _rendered_max_id(analyst_client, detector="volume-anomaly")},
    )  # fmt: skip
    assert response.status_code == 302 and "detector=volume-anomaly" in response["Location"]
    assert set(Alert.objects.filter(detector="volume-anomaly").values_list("status", flat=True)) == {"dismissed"}
    assert not Alert.objects.filter(detector="cot-elicitation-v3", status="dismissed").exists()


def test_dismiss_without_reason_shows_an_error_and_changes_nothing(analyst_client, scenario):
    response = analyst_client.post(
        reverse("alert-bulk"), {"action": "dismiss", "alert": [scenario.loose_alerts[0].alert_id]}, headers=HTMX
    )
    assert b"Dismissing needs a reason" in response.content
    assert "HX-Trigger" not in response
    assert not Alert.objects.filter(status=Alert.Status.DISMISSED).exists()


def test_open_new_case_redirects_to_it(analyst_client, scenario):
    ids = [a.alert_id for a in scenario.loose_alerts]
    response = analyst_client.post(
        reverse("alert-bulk"), {"action": "new_case", "title": "Fresh operator", "alert": ids}, headers=HTMX
    )
    case = Case.objects.get(title="Fresh operator")
    assert response["HX-Redirect"] == case.get_absolute_url()
    assert case.memberships.count() == 3


def test_a_viewer_reads_the_queue_but_cannot_triage(client, viewer, scenario):
    client.force_login(viewer)
    assert client.get(reverse("alert-list")).status_code == 200
    response = client.post(reverse("alert-bulk"), {"action": "acknowledge", "alert": [scenario.alerts[0].alert_id]})
    assert response.status_code == 403
    assert b"You don't have access" in response.content
    assert not Alert.objects.filter(status=Alert.Status.ACKNOWLEDGED).exists()


def test_the_queue_needs_a_login(client):
    assert client.get(reverse("alert-list")).status_code == 302


def test_the_queue_query_count_does_not_grow_with_the_page(analyst_client, scenario, django_assert_num_queries):
    analyst_client.get(reverse("alert-list"))  # stores the detector list
    reset_queries()
    with CaptureQueriesContext(connection) as few:
        analyst_client.get(reverse("alert-list"))
    expected = len(few.captured_queries)  # read now: the next request resets the query log
    AlertFactory.create_batch(30)
    analyst_client.get(reverse("alert-list"))
    with django_assert_num_queries(expected):
        analyst_client.get(reverse("alert-list"))


def _rendered_max_id(client, **filters) -> str:
    body = client.get(reverse("alert-list"), filters).content.decode()
    return re.search(r'name="max_id" value="(\d+)"', body).group(1)


def test_select_all_leaves_alerts_raised_after_the_page_was_rendered(analyst_client, analyst, scenario):
    max_id = _rendered_max_id(analyst_client, detector="volume-anomaly")
    late = AlertFactory(detector="volume-anomaly")  # raised while the analyst looked at the page
    response = analyst_client.post(
        reverse("alert-bulk"),
        {"action": "acknowledge", "select_all": "1", "detector": "volume-anomaly", "max_id": max_id},
        headers=HTMX,
    )
    assert b"Acknowledged 3 alerts" in response.content
    late.refresh_from_db()
    assert late.status == Alert.Status.NEW
    assert all(
        a.status == Alert.Status.ACKNOWLEDGED
        for a in Alert.objects.filter(pk__in=[a.pk for a in scenario.loose_alerts])
    )


def test_select_all_without_the_page_snapshot_is_refused(analyst_client, scenario):
    response = analyst_client.post(reverse("alert-bulk"), {"action": "acknowledge", "select_all": "1"}, headers=HTMX)
    assert b"Reload the queue" in response.content
    assert not Alert.objects.filter(status=Alert.Status.ACKNOWLEDGED).exists()
