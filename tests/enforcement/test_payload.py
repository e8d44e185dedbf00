"""What leaves the app for the gateway (webhook body and change feed): no free text, no personal data."""

from __future__ import annotations

import json

import pytest
from rest_framework.test import APIClient

from investigations.enforcement import delivery, services
from investigations.enforcement.models import EnforcementChange
from tests.accounts.factories import AccountFactory
from tests.enforcement.factories import make_case

pytestmark = pytest.mark.django_db
# What an analyst might paste into a reason: an e-mail and a prompt excerpt.
SECRET_REASON = "Owner bob@example.com sent 'You are DistillBot, think step by step'"


def test_the_webhook_body_carries_ids_and_times_not_the_reason(analyst):
    case = make_case(flagged=1)
    action = services.action_request(actor=analyst, kind="ban", reason=SECRET_REASON, case=case, scope="flagged")
    change = EnforcementChange.objects.select_related("account", "action").get()
    payload = delivery.change_payload(change)
    body = json.dumps(payload)
    assert "bob@example.com" not in body and "DistillBot" not in body and "reason" not in payload
    assert payload["action_id"] == action.pk and payload["case_id"] == case.pk
    assert payload["action"] == "ban" and payload["enforcement"] == "banned"
    assert payload["changed_at"] == change.created_at.isoformat()
    assert payload["requested_at"] == action.requested_at.isoformat()


def test_the_change_feed_serves_no_reason_and_a_null_case_for_a_selection(analyst, viewer):
    account = AccountFactory()
    services.action_request(actor=analyst, kind="ban", reason=SECRET_REASON, accounts=[account.pk])
    client = APIClient()
    client.force_authenticate(viewer)
    response = client.get("/api/v1/enforcement/changes/")
    assert response.status_code == 200
    assert "bob@example.com" not in response.content.decode()
    (row,) = response.json()["results"]
    assert "reason" not in row and row["case_id"] is None and row["account_id"] == account.account_id
