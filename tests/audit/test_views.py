"""The audit log page: who may see it, filters, pagination, streamed CSV export (itself audited), no edits."""

from __future__ import annotations

import csv
import io

import pytest
from django.contrib.auth.models import User

from investigations.models import AuditEntry
from investigations.services.audit import audit_record

pytestmark = pytest.mark.django_db


@pytest.fixture
def entries(analyst, lead):
    audit_record(actor=analyst, action="case.status_changed", object_type="investigations.case", object_id=7,
                 object_repr="#7 Operator HW-0007", reason="triaged", before={"status": "new"},
                 after={"status": "investigating"})  # fmt: skip
    audit_record(actor=lead, action="enforcement.approved", object_type="enforcement.enforcementaction",
                 object_id=3, object_repr="Ban #3", reason="=HYPERLINK(\"http://evil\")")  # fmt: skip
    audit_record(actor=None, action="auth.login_failed", object_repr="mallory")


def test_only_leads_see_the_audit_log(client, analyst, lead, entries):
    client.force_login(analyst)
    assert client.get("/audit/").status_code == 403
    assert client.get("/audit/export.csv").status_code == 403
    client.force_login(lead)
    response = client.get("/audit/")
    assert response.status_code == 200
    assert "case.status_changed" in response.content.decode()


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"actor": "ana"}, {"case.status_changed"}),
        ({"action": "enforcement."}, {"enforcement.approved"}),
        ({"object": "HW-0007"}, {"case.status_changed"}),
        ({"object": "investigations.case"}, {"case.status_changed"}),
        ({"actor": "system"}, {"auth.login_failed"}),
        ({"date_from": "2000-01-01", "date_to": "2000-01-02"}, set()),
    ],
)
def test_it_filters(client, lead, entries, query, expected):
    client.force_login(lead)
    page = client.get("/audit/", query).context["page"]
    assert {e.action for e in page.object_list} - {"auth.login"} == expected


def test_a_backwards_date_range_is_explained(client, lead, entries):
    client.force_login(lead)
    response = client.get("/audit/", {"date_from": "2026-02-02", "date_to": "2026-01-01"})
    assert "The start date is after the end date." in response.content.decode()


def test_it_paginates_and_serves_the_table_to_htmx(client, lead):
    for i in range(60):
        audit_record(actor=None, action="system.test", object_id=i)
    client.force_login(lead)
    first = client.get("/audit/", {"action": "system."})
    assert len(first.context["page"].object_list) == 50
    second = client.get("/audit/", {"action": "system.", "page": 2}, headers={"HX-Request": "true"})
    html = second.content.decode()
    assert html.lstrip().startswith('<section id="audit-table"') and "<h1>" not in html
    assert html.count("<code>system.test</code>") == 10


def test_the_csv_export_streams_filtered_rows_and_is_audited(client, lead, entries):
    client.force_login(lead)
    response = client.get("/audit/export.csv", {"action": "enforcement."})
    assert response.streaming and response["Content-Type"] == "text/csv"
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:3] == ["time_utc", "actor", "action"]
    assert [r[2] for r in rows[1:]] == ["enforcement.approved"]
    assert rows[1][6].startswith("'=")  # no formula reaches a spreadsheet
    export = AuditEntry.objects.get(action="audit.exported")
    assert export.actor == lead and export.after == {"filters": {"action": "enforcement."}, "rows": 1}


def test_the_admin_cannot_edit_or_delete_an_audit_row(client, entries):
    admin = User.objects.create_superuser("root", "root@hydra.test", "pw-for-tests-only")
    client.force_login(admin)
    entry = AuditEntry.objects.get(action="case.status_changed")
    url = f"/admin/investigations/auditentry/{entry.pk}/"
    assert client.get(url + "change/").status_code == 200  # readable
    assert client.post(url + "change/", {"reason": "rewritten"}).status_code == 403
    assert client.post(url + "delete/", {"post": "yes"}).status_code == 403
    bulk = client.post(
        "/admin/investigations/auditentry/",
        {"action": "delete_selected", "_selected_action": [entry.pk], "post": "yes"},
    )
    assert bulk.status_code in (200, 302, 403)
    entry.refresh_from_db()
    assert entry.reason == "triaged" and AuditEntry.objects.filter(pk=entry.pk).exists()


def test_an_account_is_found_inside_a_bulk_ban_row(client, lead, analyst):
    from investigations.enforcement import services
    from tests.accounts.factories import AccountFactory

    accounts = AccountFactory.create_batch(3)
    services.action_request(actor=analyst, kind="ban", reason="hydra", accounts=[a.pk for a in accounts])
    client.force_login(lead)
    page = client.get("/audit/", {"object": accounts[1].account_id}).context["page"]
    assert [e.action for e in page.object_list] == ["enforcement.ban_applied"]
