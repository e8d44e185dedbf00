"""Cases list and case page: search, partials, writes over htmx, permissions, query counts."""

from __future__ import annotations

import json
import re

import pytest
from django.db import connection, reset_queries
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from investigations.models import AuditEntry, Case, Note
from tests.investigations.conftest import build_scenario
from tests.investigations.factories import CaseFactory

pytestmark = pytest.mark.django_db
HTMX = {"HX-Request": "true"}


@pytest.mark.parametrize(
    "query",
    ["198.51.100.7", "pf_shared_card", "acct_s003", "LI.WEI2@mail.example", "203.0.113.11"],
    ids=["event-ip", "payment", "account", "email", "signup-ip"],
)
def test_one_search_box_finds_the_case_by_any_value(analyst_client, scenario, query):
    CaseFactory(title="Unrelated")
    response = analyst_client.get(reverse("case-list"), {"q": query})
    assert [c.pk for c in response.context["page"]] == [scenario.case.pk]


def test_search_matches_whole_values_only(analyst_client, scenario):
    response = analyst_client.get(reverse("case-list"), {"q": "198.51.100.70"})
    assert response.context["page"].paginator.count == 0
    assert b"No case contains" in response.content


def test_case_list_filters_by_risk_and_size(analyst_client, scenario):
    CaseFactory(risk_score=0.1)
    response = analyst_client.get(reverse("case-list"), {"risk": "high", "size": "1-9"})
    assert [c.pk for c in response.context["page"]] == [scenario.case.pk]
    response = analyst_client.get(reverse("case-list"), {"risk": "low", "size": "1-9"})
    assert response.context["page"].paginator.count == 0


def test_case_page_shows_evidence_indicators_and_prompts_to_an_analyst(analyst_client, scenario):
    response = analyst_client.get(scenario.case.get_absolute_url())
    assert response.status_code == 200
    body = response.content.decode()
    assert "Same payment card as 5 others" in body
    assert "pf_shared_card" in body
    assert "Explain step by step" in body
    assert "80% of requests ask for CoT" in body


def test_a_viewer_sees_no_prompt_excerpts_and_no_controls(client, viewer, scenario):
    client.force_login(viewer)
    body = client.get(scenario.case.get_absolute_url()).content.decode()
    assert "Explain step by step" not in body
    assert "ask a lead for the analyst role" in body
    assert 'id="status-form"' not in body


def test_status_change_over_htmx_returns_the_header_and_triggers_case_updated(analyst_client, analyst, scenario):
    response = analyst_client.post(
        reverse("case-status", args=[scenario.case.pk]), {"status": "investigating", "reason": "on it"}, headers=HTMX
    )
    assert response.status_code == 200
    assert "caseUpdated" in json.loads(response["HX-Trigger"])
    assert response.content.lstrip().startswith(b'<section class="panel case-header"')
    scenario.case.refresh_from_db()
    assert scenario.case.status == "investigating"
    assert AuditEntry.objects.get(action="case.status_changed").actor == analyst


def test_closing_without_resolution_shows_the_error_in_the_header(analyst_client, scenario):
    response = analyst_client.post(reverse("case-status", args=[scenario.case.pk]), {"status": "closed"}, headers=HTMX)
    assert b"Choose a resolution" in response.content
    assert "HX-Trigger" not in response
    assert Case.objects.get(pk=scenario.case.pk).status == "new"


def test_notes_render_markdown_without_scripts(analyst_client, scenario):
    body = "**Same harness**\n\n<script>alert(1)</script> [x](javascript:alert(1))"
    response = analyst_client.post(reverse("case-note-add", args=[scenario.case.pk]), {"body": body}, headers=HTMX)
    assert "caseUpdated" in json.loads(response["HX-Trigger"])
    html = response.content.decode()
    assert "<strong>Same harness</strong>" in html
    assert "<script>" not in html and "javascript:" not in html
    assert Note.objects.get().body == body


def test_a_viewer_cannot_change_a_case(client, viewer, scenario):
    client.force_login(viewer)
    response = client.post(reverse("case-status", args=[scenario.case.pk]), {"status": "investigating"})
    assert response.status_code == 403
    assert Case.objects.get(pk=scenario.case.pk).status == "new"


def test_split_from_the_accounts_table_redirects_to_the_new_case(analyst_client, scenario):
    response = analyst_client.post(
        reverse("case-split", args=[scenario.case.pk]),
        {"account": ["acct_s000", "acct_s001"], "title": "Other lab", "reason": "different harness"},
    )
    new_case = Case.objects.get(title="Other lab")
    assert response.status_code == 302 and response["Location"] == new_case.get_absolute_url()
    assert new_case.memberships.count() == 2


def _figure(response, script_id: str) -> dict:
    match = re.search(
        rf'<script id="{script_id}" type="application/json">(.*?)</script>', response.content.decode(), re.S
    )
    assert match, f"no {script_id} in the response"
    return json.loads(match.group(1))


def test_graph_and_timeline_partials_carry_plot_data(analyst_client, scenario):
    graph = analyst_client.get(reverse("case-graph", args=[scenario.case.pk]), headers=HTMX)
    fig = _figure(graph, "graph-chart-data")
    assert {t["type"] for t in fig["data"]} == {"scattergl"}
    assert fig["layout"]["meta"] == {"collapsed": False, "accounts": 6, "indicators": 2}
    hovers = [h for t in fig["data"] for h in t.get("customdata") or []]
    assert "account:acct_s000" in hovers and "indicator:0" in hovers
    timeline = analyst_client.get(reverse("case-timeline", args=[scenario.case.pk]), headers=HTMX)
    fig = _figure(timeline, f"timeline-data-case-{scenario.case.pk}")
    assert {t["name"] for t in fig["data"]} >= {"reasoning", "coding", "CoT share", "output tokens"}


def test_clicking_an_indicator_node_lists_its_accounts(analyst_client, scenario):
    response = analyst_client.get(reverse("case-graph-node", args=[scenario.case.pk]), {"ref": "indicator:0"})
    assert response.status_code == 200
    assert all(a.account_id in response.content.decode() for a in scenario.accounts)
    assert analyst_client.get(reverse("case-graph-node", args=[scenario.case.pk]), {"ref": "x:1"}).status_code == 404


def test_an_unknown_case_gets_the_friendly_404(analyst_client):
    response = analyst_client.get(reverse("case-detail", args=[999999]))
    assert response.status_code == 404
    assert b"Nothing here" in response.content


def _count(client, url: str) -> int:
    client.get(url, headers=HTMX)  # stores the case's aggregates
    reset_queries()
    with CaptureQueriesContext(connection) as ctx:
        client.get(url, headers=HTMX)
    return len(ctx.captured_queries)


@pytest.mark.parametrize("view", ["case-detail", "case-accounts", "case-graph", "case-timeline"])
def test_case_views_run_the_same_queries_for_a_small_and_a_larger_case(analyst_client, view, django_assert_num_queries):
    small = build_scenario(accounts=3, events_per_account=2, prefix="acct_q")
    large = build_scenario(accounts=15, events_per_account=2, prefix="acct_r")
    expected = _count(analyst_client, reverse(view, args=[small.case.pk]))
    analyst_client.get(reverse(view, args=[large.case.pk]), headers=HTMX)
    with django_assert_num_queries(expected):
        analyst_client.get(reverse(view, args=[large.case.pk]), headers=HTMX)


def test_search_finds_values_known_only_to_the_indicator_index(analyst_client, scenario):
    from investigations.detection.models import AccountIndicator, Indicator

    ja4 = Indicator.objects.create(kind=Indicator.Kind.JA4, value="t13d1516h2_8daaf6152771", account_count=1)
    AccountIndicator.objects.create(account=scenario.accounts[2], indicator=ja4, events=5)
    response = analyst_client.get(reverse("case-list"), {"q": "t13d1516h2_8daaf6152771"})
    assert [c.pk for c in response.context["page"]] == [scenario.case.pk]


def test_paging_the_accounts_table_fetches_the_partial_not_the_whole_page(analyst_client, scenario, monkeypatch):
    # The pager lives inside the case page; a relative hx-get would fetch /cases/<id>/ and nest the whole page.
    monkeypatch.setattr("investigations.selectors.cases.MEMBER_PAGE_SIZE", 2)
    body = analyst_client.get(scenario.case.get_absolute_url()).content.decode()
    accounts_url = reverse("case-accounts", args=[scenario.case.pk])
    next_link = re.search(r'hx-get="([^"]*page=2)"', body)
    assert next_link and next_link.group(1).replace("&amp;", "&").startswith(accounts_url + "?")
    response = analyst_client.get(next_link.group(1).replace("&amp;", "&"), headers=HTMX)
    page_two = response.content.decode()
    assert page_two.lstrip().startswith('<section class="panel" id="case-accounts"')
    assert "<html" not in page_two and 'id="case-indicators"' not in page_two
    assert "Page 2 of 3" in page_two
    assert "hx_base" not in page_two  # the pager's template comment stays a comment


def test_paging_the_cases_list_fetches_the_list_partial(analyst_client, monkeypatch):
    monkeypatch.setattr("investigations.selectors.cases.CASE_PAGE_SIZE", 1)
    CaseFactory.create_batch(2)
    body = analyst_client.get(reverse("case-list")).content.decode()
    assert f'hx-get="{reverse("case-list")}?page=2"' in body


def test_a_viewer_cannot_confirm_an_email_address_through_the_search(client, viewer, analyst, scenario):
    client.force_login(viewer)
    for query in ["li.wei2@mail.example", "LI.WEI2@mail.example"]:
        assert client.get(reverse("case-list"), {"q": query}).context["page"].paginator.count == 0
    # Values that are not personal data still find the case for a viewer.
    assert [c.pk for c in client.get(reverse("case-list"), {"q": "pf_shared_card"}).context["page"]] == [
        scenario.case.pk
    ]


def test_a_viewer_cannot_match_email_evidence_or_email_indicators(viewer, analyst, scenario):
    from investigations.detection.models import AccountIndicator, Indicator
    from investigations.selectors import search

    member = scenario.case.memberships.first()
    member.evidence = [*member.evidence, {"signal": "email_pattern", "value": "li.wei#@mail.example", "weight": 0.5}]
    member.save()
    indicator = Indicator.objects.create(kind=Indicator.Kind.EMAIL_DOMAIN, value="mail.example", account_count=1)
    AccountIndicator.objects.create(account=member.account, indicator=indicator)
    for query in ["li.wei#@mail.example", "mail.example"]:
        assert search.case_ids_matching(user=viewer, query=query) == set()
        assert search.case_ids_matching(user=analyst, query=query) == {scenario.case.pk}


def test_the_assign_form_refuses_a_viewer_as_assignee(analyst_client, viewer, analyst2, scenario):
    url = reverse("case-assign", args=[scenario.case.pk])
    response = analyst_client.post(url, {"assignee": viewer.pk, "reason": "try"}, headers=HTMX)
    assert "Only analysts and leads" in response.content.decode()
    scenario.case.refresh_from_db()
    assert scenario.case.assignee is None
    analyst_client.post(url, {"assignee": analyst2.pk}, headers=HTMX)
    scenario.case.refresh_from_db()
    assert scenario.case.assignee == analyst2


def test_rewritten_evidence_and_linking_fields_show_up_at_once(analyst_client, scenario):
    from accounts.models import Account
    from investigations.models import CaseMembership

    url = scenario.case.get_absolute_url()
    graph_url = reverse("case-graph", args=[scenario.case.pk])
    assert "198.51.100.7" in analyst_client.get(url).content.decode()
    analyst_client.get(graph_url)
    # Detection rewrites evidence in place: same members, same strengths, same text length.
    for m in CaseMembership.objects.filter(case=scenario.case):
        m.evidence = [
            {**e, "value": "198.51.100.9", "text": "Requests from proxy 198.51.100.9"} if e["signal"] == "ip" else e
            for e in m.evidence
        ]
        m.save(update_fields=["evidence"])
    body = analyst_client.get(url).content.decode()
    assert "198.51.100.9" in body and "198.51.100.7" not in body
    assert "198.51.100.9" in analyst_client.get(graph_url).content.decode()
    Account.objects.filter(pk__in=[a.pk for a in scenario.accounts]).update(payment_fingerprint="pf_other_card")
    assert "pf_other_card" in analyst_client.get(url).content.decode()
