"""The account page: profile (e-mail only with PII access), alerts, case, linked accounts, timeline."""

from __future__ import annotations

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_account_page_shows_case_alerts_and_linked_accounts_with_reasons(analyst_client, scenario):
    account = scenario.accounts[0]
    response = analyst_client.get(account.get_absolute_url())
    assert response.status_code == 200
    linked = {entry.account_id: entry for entry in response.context["linked"]}
    assert set(linked) == {a.account_id for a in scenario.accounts[1:]}
    assert any("pf_shared_card" in reason for reason in linked["acct_s001"].reasons)
    assert account.email in response.content.decode()
    assert f"Case #{scenario.case.pk}" in response.content.decode()


def test_the_email_is_hidden_from_a_viewer(client, viewer, scenario):
    client.force_login(viewer)
    response = client.get(scenario.accounts[0].get_absolute_url())
    assert scenario.accounts[0].email not in response.content.decode()


def test_account_timeline_partial_has_chart_data(analyst_client, scenario):
    response = analyst_client.get(reverse("account-timeline", args=[scenario.accounts[0].account_id]))
    assert response.status_code == 200
    account = scenario.accounts[0]
    assert f'id="timeline-data-acct-{account.pk}"'.encode() in response.content
    assert f'id="heatmap-data-acct-{account.pk}"'.encode() in response.content


def test_an_unknown_account_is_a_404(analyst_client):
    assert analyst_client.get(reverse("account-detail", args=["nope"])).status_code == 404
