"""The commands, the REST API and the post-batch task."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from investigations.detection import tasks
from investigations.detection.models import DetectionRun
from investigations.models import Case
from tests.detection.scenario import build_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def detected(tmp_path):
    world = build_world()
    out = StringIO()
    call_command("detect", stdout=out)
    assert "detection run" in out.getvalue()
    truth = tmp_path / "truth.json"
    truth.write_text(json.dumps(world.truth()))
    return truth


def test_cases_json_lists_accounts_flagged_score_status(detected):
    out = StringIO()
    call_command("cases", "--json", stdout=out)
    cases = json.loads(out.getvalue())
    assert len(cases) == 4
    assert {"case_id", "accounts", "flagged", "score", "status"} <= set(cases[0])
    assert cases[0]["score"] >= cases[-1]["score"]
    assert set(cases[0]["flagged"]) <= set(cases[0]["accounts"])


def test_evaluate_prints_text_and_json_and_rejects_a_bad_truth_file(detected, tmp_path):
    out = StringIO()
    call_command("evaluate", "--truth", str(detected), "--json", stdout=out)
    result = json.loads(out.getvalue())
    assert result["bcubed_f1"] == 1.0 and result["auc"] == 1.0 and result["legitimate_in_attacker_cases"] == 0
    out = StringIO()
    call_command("evaluate", "--truth", str(detected), stdout=out)
    assert "B-cubed precision" in out.getvalue()
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2]")
    with pytest.raises(CommandError, match="operators"):
        call_command("evaluate", "--truth", str(bad))


def test_api_lists_filters_and_shows_cases_with_evidence(detected, client, analyst, viewer):
    assert client.get("/api/v1/cases/").status_code == 403
    client.force_login(viewer)
    page = client.get("/api/v1/cases/", {"min_score": 0.5}).json()
    assert page["count"] == 2 and all(c["risk_score"] >= 0.5 for c in page["results"])
    by_account = client.get("/api/v1/cases/", {"account": "acct_uni_00"}).json()
    assert by_account["count"] == 1 and by_account["results"][0]["accounts"] == 8
    assert client.get("/api/v1/cases/", {"status": "bogus"}).status_code == 400
    case_id = page["results"][0]["id"]
    detail = client.get(f"/api/v1/cases/{case_id}/").json()
    assert detail["risk_reasons"] and detail["members"][0]["evidence"][0]["text"]
    assert detail["shared_indicators"][0]["in_case"] >= 2
    assert all(i["value"] == "" for i in detail["shared_indicators"] if i["kind"] == "email_pattern")
    assert client.get("/api/v1/cases/999999/").status_code == 404


def test_the_post_batch_task_runs_detection_for_that_batch():
    build_world()
    tasks.detect_after_batch.delay(12345)
    tasks.detect_after_batch.delay(12345)
    runs = DetectionRun.objects.filter(batch_id=12345)
    assert runs.count() == 2 and {r.status for r in runs} == {DetectionRun.Status.DONE}
    # The world's accounts carry no batch id: nothing in scope, no case opened.
    assert Case.objects.count() == 0


def test_selectors_for_the_dashboard_explain_an_account_and_hide_pii_from_viewers(detected, analyst, viewer):
    from django.contrib.auth.models import AnonymousUser
    from django.core.exceptions import PermissionDenied

    from accounts.models import Account
    from investigations.detection import selectors

    account = Account.objects.get(account_id="acct_alpha_001")
    why = selectors.account_links(user=analyst, account=account)
    assert why["case"] is not None and why["evidence"][0]["signal"] == "payment"
    assert {link["signal"] for link in why["links"]} >= {"prompt_echo"}
    values = selectors.account_indicators(user=analyst, account=account)
    payment = next(v for v in values if v["kind"] == "payment")
    assert payment["accounts"] == 5
    sharing = selectors.indicator_accounts(user=viewer, kind="payment", value=payment["value"])
    assert "acct_alpha_001" in {a.account_id for a in sharing}
    hidden = [v for v in selectors.account_indicators(user=viewer, account=account) if v["kind"] == "email_pattern"]
    assert hidden and hidden[0]["value"] == ""
    with pytest.raises(PermissionDenied):
        selectors.account_links(user=AnonymousUser(), account=account)


def test_a_failing_run_is_recorded_and_does_not_break_the_ingest_that_enqueued_it(monkeypatch):
    from investigations.detection import services

    def broken():
        raise RuntimeError("clustering exploded")

    monkeypatch.setattr(services, "cluster_accounts", broken)
    tasks.detect_after_batch.delay(4242)
    run = DetectionRun.objects.get(batch_id=4242)
    assert run.status == DetectionRun.Status.FAILED and "clustering exploded" in run.error
