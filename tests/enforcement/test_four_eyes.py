"""The four-eyes rule cannot be split into small steps, nor undone by one person after a lead approved it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from rest_framework.test import APIClient

from accounts.models import Account
from investigations.enforcement import services
from investigations.enforcement.models import EnforcementAction
from tests.accounts.factories import AccountFactory

pytestmark = pytest.mark.django_db
Status = EnforcementAction.Status
ACTIONS = "/api/v1/enforcement/actions/"


@pytest.fixture
def small_threshold(settings):
    settings.ENFORCEMENT_APPROVAL_THRESHOLD = 5
    settings.ENFORCEMENT_APPROVAL_WINDOW_HOURS = 24


def ban(actor, accounts, kind: str = "ban") -> EnforcementAction:
    return services.action_request(actor=actor, kind=kind, reason="r", accounts=[a.pk for a in accounts])


def test_small_bans_add_up_within_the_window(analyst, analyst2, small_threshold):
    accounts = AccountFactory.create_batch(12)
    assert ban(analyst, accounts[:3]).status == Status.APPLIED
    assert ban(analyst, accounts[3:5]).status == Status.APPLIED  # 5 in 24 h: at the limit, still direct
    third = ban(analyst, accounts[5:6])
    assert third.status == Status.PENDING_APPROVAL
    assert "5 accounts" in third.approval_reason and "24 h" in third.approval_reason
    assert not Account.objects.filter(pk=accounts[5].pk, enforcement="banned").exists()
    # The budget is per person: a colleague still acts directly.
    assert ban(analyst2, accounts[6:9]).status == Status.APPLIED


def test_the_window_rolls(analyst, small_threshold):
    accounts = AccountFactory.create_batch(8)
    first = ban(analyst, accounts[:5])
    EnforcementAction.objects.filter(pk=first.pk).update(applied_at=first.applied_at - timedelta(hours=25))
    assert ban(analyst, accounts[5:8]).status == Status.APPLIED


def test_approved_actions_do_not_use_the_direct_budget(analyst, lead, small_threshold):
    accounts = AccountFactory.create_batch(9)
    big = ban(analyst, accounts[:6])
    assert big.status == Status.PENDING_APPROVAL and "more than 5" in big.approval_reason
    services.action_approve(action_id=big.pk, actor=lead, comment="ok")
    assert ban(analyst, accounts[6:9]).status == Status.APPLIED


def test_unbanning_a_lead_approved_ban_needs_a_lead_even_for_one_account(
    analyst, analyst2, lead, lead2, small_threshold
):
    approved = AccountFactory.create_batch(6)
    action = ban(analyst, approved)
    services.action_approve(action_id=action.pk, actor=lead, comment="ok")
    direct = AccountFactory()
    ban(analyst2, [direct])

    undo = ban(analyst, approved[:1], kind="unban")
    assert undo.status == Status.PENDING_APPROVAL
    assert "approved by a lead" in undo.approval_reason
    assert Account.objects.get(pk=approved[0].pk).enforcement == "banned"
    # A lead alone cannot undo it either: the second pair of eyes is another lead.
    assert ban(lead2, approved[1:2], kind="unban").status == Status.PENDING_APPROVAL
    # A ban one person made directly may be lifted directly (within the budget).
    assert ban(analyst, [direct], kind="unban").status == Status.APPLIED
    services.action_approve(action_id=undo.pk, actor=lead2, comment="appeal checked")
    assert Account.objects.get(pk=approved[0].pk).enforcement == "none"


def test_the_api_answers_why_an_action_waits(analyst, lead, small_threshold):
    client = APIClient()
    client.force_authenticate(analyst)
    accounts = AccountFactory.create_batch(10)
    answers = [
        client.post(
            ACTIONS, {"action": "ban", "reason": "r", "accounts": [a.pk for a in accounts[i : i + 2]]}, format="json"
        )
        for i in range(0, 6, 2)
    ]
    assert [a.json()["status"] for a in answers] == ["applied", "applied", "pending_approval"]
    assert answers[0].json()["approval_reason"] == ""
    assert "in the last 24 h" in answers[2].json()["approval_reason"]

    approved = AccountFactory.create_batch(6)
    big = client.post(ACTIONS, {"action": "ban", "reason": "r", "accounts": [a.pk for a in approved]}, format="json")
    lead_client = APIClient()
    lead_client.force_authenticate(lead)
    lead_client.post(f"{ACTIONS}{big.json()['id']}/approve/", {"comment": "ok"}, format="json")
    unban = lead_client.post(ACTIONS, {"action": "unban", "reason": "r", "accounts": [approved[0].pk]}, format="json")
    assert unban.status_code == 201 and unban.json()["status"] == "pending_approval"
    assert "approved by a lead" in unban.json()["approval_reason"]
    assert Account.objects.get(pk=approved[0].pk).enforcement == "banned"


def test_the_pages_show_why_an_action_waits(client, analyst, small_threshold):
    accounts = AccountFactory.create_batch(6)
    client.force_login(analyst)
    response = client.post(
        "/enforcement/actions/new/",
        {"action": "ban", "reason": "r", "account_ids": " ".join(a.account_id for a in accounts)},
        headers={"HX-Request": "true"},
    )
    assert "more than 5" in response.content.decode()
    action = EnforcementAction.objects.get()
    assert "more than 5" in client.get(action.get_absolute_url()).content.decode()
