"""Alert triage services: bulk changes, one audit entry naming every alert."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

import config.db
from investigations.models import Alert, AuditEntry, Case, CaseMembership
from investigations.services import alerts as alert_services
from tests.investigations.factories import CaseFactory

pytestmark = pytest.mark.django_db


def _loose(scenario) -> object:
    return Alert.objects.filter(pk__in=[a.pk for a in scenario.loose_alerts])


def test_acknowledge_marks_who_and_when_and_audits_every_alert(analyst, scenario):
    assert alert_services.alerts_acknowledge(alerts=_loose(scenario), actor=analyst) == 3
    assert set(_loose(scenario).values_list("status", flat=True)) == {Alert.Status.ACKNOWLEDGED}
    assert all(a.triaged_by == analyst and a.triaged_at for a in _loose(scenario))
    entry = AuditEntry.objects.get(action="alert.acknowledged")
    assert sorted(entry.after["alerts"]) == sorted(a.alert_id for a in scenario.loose_alerts)


def test_dismiss_requires_a_reason_and_keeps_it(analyst, scenario):
    with pytest.raises(ValidationError):
        alert_services.alerts_dismiss(alerts=_loose(scenario), actor=analyst, reason="")
    assert not _loose(scenario).exclude(status=Alert.Status.NEW).exists()
    alert_services.alerts_dismiss(alerts=_loose(scenario), actor=analyst, reason="known load test")
    assert set(_loose(scenario).values_list("dismiss_reason", flat=True)) == {"known load test"}
    assert AuditEntry.objects.get(action="alert.dismissed").reason == "known load test"


def test_attach_pins_the_alerts_accounts_into_the_case(analyst, scenario):
    result = alert_services.alerts_attach_to_case(alerts=_loose(scenario), case=scenario.case, actor=analyst)
    assert result.alerts == 3 and len(result.accounts_added) == 3
    members = CaseMembership.objects.filter(case=scenario.case, account__account_id__in=result.accounts_added)
    assert members.count() == 3 and all(m.pinned for m in members)
    assert AuditEntry.objects.get(action="alert.attached").after["case"] == scenario.case.pk
    assert AuditEntry.objects.filter(action="case.accounts_added", object_id=str(scenario.case.pk)).exists()


def test_attach_leaves_accounts_of_other_cases_where_they_are(analyst, scenario):
    other = CaseFactory()
    alerts = Alert.objects.filter(pk=scenario.alerts[0].pk)
    result = alert_services.alerts_attach_to_case(alerts=alerts, case=other, actor=analyst)
    assert result.accounts_in_other_cases == [scenario.accounts[0].account_id]
    assert CaseMembership.objects.get(account=scenario.accounts[0]).case == scenario.case


def test_attach_refuses_a_closed_case(analyst, scenario):
    closed = CaseFactory(status=Case.Status.CLOSED)
    with pytest.raises(ValidationError, match="closed"):
        alert_services.alerts_attach_to_case(alerts=_loose(scenario), case=closed, actor=analyst)


def test_open_case_from_alerts_starts_at_the_top_score(analyst, scenario):
    result = alert_services.case_open_from_alerts(alerts=_loose(scenario), actor=analyst, title="New operator")
    assert result.case.title == "New operator"
    assert result.case.risk_score == pytest.approx(0.7)
    assert AuditEntry.objects.filter(action="case.created", object_id=str(result.case.pk)).exists()


def test_bulk_triage_records_each_alerts_previous_state(analyst, scenario):
    first, second, _third = scenario.loose_alerts
    alert_services.alerts_dismiss(alerts=Alert.objects.filter(pk=first.pk), actor=analyst, reason="noise")
    alert_services.alerts_acknowledge(alerts=_loose(scenario), actor=analyst, reason="recheck")
    entry = AuditEntry.objects.get(action="alert.acknowledged")
    assert entry.before[first.alert_id] == {"status": "dismissed", "case_id": None, "dismiss_reason": "noise"}
    assert entry.before[second.alert_id] == {"status": "new", "case_id": None, "dismiss_reason": ""}
    assert set(entry.before) == set(entry.after["alerts"]) == {a.alert_id for a in scenario.loose_alerts}
    assert entry.after["status"] == "acknowledged"
    attached = scenario.alerts[0]
    alert_services.alerts_dismiss(alerts=Alert.objects.filter(pk=attached.pk), actor=analyst, reason="x")
    before = AuditEntry.objects.filter(action="alert.dismissed").latest("id").before
    assert before[attached.alert_id]["case_id"] == scenario.case.pk


def test_bulk_triage_locks_the_selected_rows(analyst, scenario):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        alert_services.alerts_acknowledge(alerts=_loose(scenario), actor=analyst)
    if connection.features.has_select_for_update:
        assert any("FOR UPDATE" in q["sql"] for q in queries.captured_queries)


def test_large_selections_bind_ids_in_chunks(analyst, scenario, monkeypatch):
    # SQLite refuses more than 32,766 bound ids in one statement; a chunk of 2 proves 3 alerts need several.
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    monkeypatch.setattr(config.db, "IN_CHUNK", 2)
    case = CaseFactory()
    with CaptureQueriesContext(connection) as queries:
        result = alert_services.alerts_attach_to_case(alerts=_loose(scenario), case=case, actor=analyst)
    assert result.alerts == 3 and len(result.accounts_added) == 3
    assert set(_loose(scenario).values_list("case_id", flat=True)) == {case.pk}
    updates = [q["sql"] for q in queries.captured_queries if q["sql"].startswith('UPDATE "investigations_alert"')]
    assert len(updates) == 2
