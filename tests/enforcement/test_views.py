"""Enforcement pages: the ban form, the approval flow, delivery progress polling, the embeddable fragments."""

from __future__ import annotations

import pytest

from accounts.models import Account
from investigations.enforcement import services
from investigations.enforcement.models import EnforcementAction, EnforcementChange
from tests.accounts.factories import AccountFactory
from tests.enforcement.factories import make_case

pytestmark = pytest.mark.django_db


def test_the_ban_form_bans_pasted_account_ids_and_redirects(client, analyst):
    accounts = AccountFactory.create_batch(2)
    client.force_login(analyst)
    response = client.post(
        "/enforcement/actions/new/",
        {"action": "ban", "reason": "harness", "account_ids": f"{accounts[0].account_id}, {accounts[1].account_id}"},
    )
    action = EnforcementAction.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/enforcement/actions/{action.pk}/"
    assert Account.objects.filter(enforcement="banned").count() == 2


def test_an_htmx_case_ban_returns_the_controls_and_an_event(client, analyst):
    case = make_case(flagged=2, linked=1)
    client.force_login(analyst)
    response = client.post(
        "/enforcement/actions/new/",
        {"action": "ban", "reason": "hydra", "case": case.pk, "scope": "all"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    assert "enforcementChanged" in response["HX-Trigger"]
    assert "3 of 3 accounts changed" in response.content.decode()
    assert Account.objects.filter(enforcement="banned").count() == 3


def test_the_form_explains_what_is_missing(client, analyst):
    client.force_login(analyst)
    response = client.post("/enforcement/actions/new/", {"action": "ban", "reason": "", "account_ids": "x"})
    assert response.status_code == 400
    assert "A reason is required" in response.content.decode()
    assert not EnforcementAction.objects.exists()


def test_viewers_see_no_ban_form_and_cannot_post(client, viewer):
    account = AccountFactory()
    client.force_login(viewer)
    page = client.get("/enforcement/")
    assert page.status_code == 200 and 'id="ban-form"' not in page.content.decode()
    response = client.post(
        "/enforcement/actions/new/", {"action": "ban", "reason": "r", "account_ids": account.account_id}
    )
    assert response.status_code == 403
    assert client.get("/enforcement/approvals/").status_code == 403


def test_a_lead_reviews_in_the_queue_but_not_their_own(client, analyst, lead, settings):
    settings.ENFORCEMENT_APPROVAL_THRESHOLD = 2
    case = make_case(flagged=3)
    action = services.action_request(actor=analyst, kind="ban", reason="hydra", case=case, scope="flagged")
    own = services.action_request(actor=lead, kind="ban", reason="hydra", case=case, scope="flagged")
    client.force_login(lead)
    queue = client.get("/enforcement/approvals/").content.decode()
    assert f"#{action.pk}" in queue and "your request" in queue
    detail = client.get(f"/enforcement/actions/{action.pk}/").content.decode()
    assert (
        "Approve" in detail
        and "Shares card pf_1 with 40" in detail
        and case.memberships.first().account.account_id in detail
    )
    assert 'value="approve"' not in client.get(f"/enforcement/actions/{own.pk}/").content.decode()
    client.post(f"/enforcement/actions/{own.pk}/review/", {"decision": "approve", "comment": ""})
    own.refresh_from_db()
    assert own.status == "pending_approval"
    client.post(f"/enforcement/actions/{action.pk}/review/", {"decision": "approve", "comment": "seen"})
    action.refresh_from_db()
    assert action.status == "applied" and action.reviewed_by == lead


def test_delivery_progress_polls_until_everything_arrived(client, analyst):
    accounts = AccountFactory.create_batch(2)
    action = services.action_request(actor=analyst, kind="ban", reason="r", accounts=[a.pk for a in accounts])
    client.force_login(analyst)
    url = f"/enforcement/actions/{action.pk}/progress/"
    polling = client.get(url, headers={"HX-Request": "true"})
    assert polling.status_code == 200 and "0 of 2 delivered" in polling.content.decode()
    assert "hx-trigger" in polling.content.decode()
    EnforcementChange.objects.update(delivery_state="delivered")
    done = client.get(url, headers={"HX-Request": "true"})
    assert done.status_code == 286 and "2 of 2 delivered" in done.content.decode()


def test_the_account_history_fragment_lists_changes_and_pending_requests(client, analyst, settings):
    account = AccountFactory()
    services.action_request(actor=analyst, kind="ban", reason="first ban", accounts=[account.pk])
    services.action_request(actor=analyst, kind="unban", reason="appeal", accounts=[account.pk])
    settings.ENFORCEMENT_APPROVAL_THRESHOLD = 1
    others = AccountFactory.create_batch(1)
    services.action_request(actor=analyst, kind="ban", reason="big", accounts=[account.pk, others[0].pk])
    client.force_login(analyst)
    html = client.get(f"/enforcement/accounts/{account.pk}/history/").content.decode()
    assert html.index("appeal") < html.index("first ban")  # newest first
    assert "Waiting for approval" in html
    controls = client.get(f"/enforcement/controls/?account={account.pk}").content.decode()
    assert account.account_id in controls and 'name="reason"' in controls
    assert client.get("/enforcement/controls/?case=abc").status_code == 400


def test_the_case_page_bans_the_ticked_accounts(client, analyst):
    case = make_case(flagged=3, linked=2)
    ticked = list(case.memberships.order_by("account_id").values_list("account__account_id", flat=True)[:2])
    client.force_login(analyst)
    assert "Ban / unban" in client.get(f"/cases/{case.pk}/").content.decode()
    controls = client.get(f"/enforcement/controls/?case={case.pk}").content.decode()
    assert "Flagged only (3)" in controls and "(5)" in controls
    response = client.post(
        "/enforcement/actions/new/",
        {"action": "ban", "reason": "these two", "case": case.pk, "controls_case": case.pk, "scope": "selected",
         "account": ticked},
        headers={"HX-Request": "true"},
    )  # fmt: skip
    assert "2 of 2 accounts changed" in response.content.decode()
    assert set(Account.objects.filter(enforcement="banned").values_list("account_id", flat=True)) == set(ticked)
    nothing = client.post(
        "/enforcement/actions/new/",
        {"action": "ban", "reason": "r", "case": case.pk, "scope": "selected"},
        headers={"HX-Request": "true"},
    )
    assert "Tick accounts" in nothing.content.decode()


def test_the_action_list_and_queue_query_count_does_not_grow_with_actions(client, analyst, lead, settings):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    settings.ENFORCEMENT_APPROVAL_THRESHOLD = 1
    client.force_login(lead)

    def queries(url: str) -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url).status_code == 200
        return len(ctx.captured_queries)

    def add_actions(n: int) -> None:
        for _ in range(n):
            case = make_case(flagged=2)
            services.action_request(actor=analyst, kind="ban", reason="r", case=case, scope="flagged")

    add_actions(2)
    few = (queries("/enforcement/"), queries("/enforcement/approvals/"))
    add_actions(6)
    assert (queries("/enforcement/"), queries("/enforcement/approvals/")) == few


def test_a_lead_resends_a_failed_change_and_rejects_with_a_comment(client, analyst, lead, settings):
    account = AccountFactory()
    action = services.action_request(actor=analyst, kind="ban", reason="r", accounts=[account.pk])
    EnforcementChange.objects.update(delivery_state="failed", attempts=3, last_error="HTTP 503 Service Unavailable")
    change = EnforcementChange.objects.get()
    client.force_login(analyst)
    assert client.post(f"/enforcement/actions/{action.pk}/resend/", {"change": change.pk}).status_code == 403
    client.force_login(lead)
    page = client.get(f"/enforcement/actions/{action.pk}/?state=failed").content.decode()
    assert "HTTP 503" in page and "Re-send" in page
    response = client.post(f"/enforcement/actions/{action.pk}/resend/", {"change": change.pk})
    assert response.status_code == 302
    change.refresh_from_db()
    assert change.delivery_state == "pending"

    settings.ENFORCEMENT_APPROVAL_THRESHOLD = 1
    big = services.action_request(
        actor=analyst, kind="ban", reason="r", accounts=[a.pk for a in AccountFactory.create_batch(2)]
    )
    client.post(f"/enforcement/actions/{big.pk}/review/", {"decision": "reject", "comment": ""})
    big.refresh_from_db()
    assert big.status == "pending_approval"
    client.post(f"/enforcement/actions/{big.pk}/review/", {"decision": "reject", "comment": "Customer is a lab"})
    big.refresh_from_db()
    assert (big.status, big.review_comment) == ("rejected", "Customer is a lab")
