"""The REST API applies the same four-eyes rules as the pages, and feeds polling gateways."""

from __future__ import annotations

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from accounts.models import Account
from tests.accounts.factories import AccountFactory
from tests.enforcement.factories import make_case

pytestmark = pytest.mark.django_db
ACTIONS = "/api/v1/enforcement/actions/"


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_an_analyst_bans_accounts_by_id(analyst):
    accounts = AccountFactory.create_batch(2)
    response = api(analyst).post(
        ACTIONS, {"action": "ban", "reason": "harness", "accounts": [a.account_id for a in accounts]}, format="json"
    )
    assert response.status_code == 201, response.content
    assert response.json()["status"] == "applied" and response.json()["id"]
    assert Account.objects.filter(enforcement="banned").count() == 2


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"action": "ban", "reason": "", "accounts": ["x"]}, "reason"),
        ({"action": "ban", "reason": "r"}, "either"),
        ({"action": "nuke", "reason": "r", "accounts": ["x"]}, "action"),
        ({"action": "ban", "reason": "r", "case": 1}, "scope"),
        ({"action": "ban", "reason": "r", "accounts": ["acct_missing"]}, "acct_missing"),
    ],
)
def test_bad_requests_get_a_clear_400(analyst, body, message):
    response = api(analyst).post(ACTIONS, body, format="json")
    assert response.status_code == 400
    assert message in response.content.decode()


def test_viewers_cannot_ban(viewer):
    account = AccountFactory()
    response = api(viewer).post(ACTIONS, {"action": "ban", "reason": "r", "accounts": [account.pk]}, format="json")
    assert response.status_code == 403
    assert not Account.objects.filter(enforcement="banned").exists()


def test_large_case_action_needs_a_different_lead(analyst, lead, lead2, settings):
    settings.ENFORCEMENT_APPROVAL_THRESHOLD = 3
    case = make_case(flagged=4, linked=2)
    created = api(lead).post(
        ACTIONS, {"action": "ban", "reason": "hydra", "case": case.pk, "scope": "all"}, format="json"
    )
    assert created.status_code == 201 and created.json()["status"] == "pending_approval"
    approve = f"{ACTIONS}{created.json()['id']}/approve/"
    assert api(analyst).post(approve, {"comment": "ok"}, format="json").status_code == 403
    assert api(lead).post(approve, {"comment": "ok"}, format="json").status_code == 403
    assert not Account.objects.filter(enforcement="banned").exists()
    approved = api(lead2).post(approve, {"comment": "ok"}, format="json")
    assert approved.status_code == 200 and approved.json()["status"] == "applied"
    assert Account.objects.filter(enforcement="banned").count() == 6
    again = api(lead2).post(f"{ACTIONS}{created.json()['id']}/reject/", {"comment": "no"}, format="json")
    assert again.status_code == 400


def test_the_change_feed_pages_with_a_cursor_under_token_auth(analyst, viewer):
    accounts = AccountFactory.create_batch(3)
    api(analyst).post(ACTIONS, {"action": "ban", "reason": "r", "accounts": [a.pk for a in accounts]}, format="json")
    api(analyst).post(ACTIONS, {"action": "unban", "reason": "r", "accounts": [accounts[0].pk]}, format="json")
    token = Token.objects.create(user=viewer)
    client = APIClient()
    assert client.get("/api/v1/enforcement/changes/").status_code in (401, 403)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    first = client.get("/api/v1/enforcement/changes/", {"after": 0, "limit": 2}).json()
    assert [c["action"] for c in first["results"]] == ["ban", "ban"] and first["has_more"]
    rest = client.get("/api/v1/enforcement/changes/", {"after": first["next_cursor"]}).json()
    assert [(c["account_id"], c["action"], c["sequence"]) for c in rest["results"]] == [
        (accounts[2].account_id, "ban", 1),
        (accounts[0].account_id, "unban", 2),
    ]
    empty = client.get("/api/v1/enforcement/changes/", {"after": rest["next_cursor"]}).json()
    assert empty == {"results": [], "next_cursor": rest["next_cursor"], "has_more": False}
    assert client.get("/api/v1/enforcement/changes/", {"after": "abc"}).status_code == 400


def test_an_action_reports_its_delivery_progress(analyst):
    accounts = AccountFactory.create_batch(2)
    created = api(analyst).post(
        ACTIONS, {"action": "ban", "reason": "r", "accounts": [a.pk for a in accounts]}, format="json"
    )
    detail = api(analyst).get(f"{ACTIONS}{created.json()['id']}/").json()
    assert detail["delivery"] == {"total": 2, "delivered": 0, "pending": 2, "sending": 0, "failed": 0}
    assert detail["requested_by"] == analyst.username and detail["action"] == "ban"
