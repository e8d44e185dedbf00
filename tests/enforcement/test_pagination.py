"""Pagers keep the page's other filters: page 2 of a filtered list is still filtered."""

from __future__ import annotations

import html
import re
from urllib.parse import parse_qs, urlsplit

import pytest

from investigations.enforcement import services, views
from investigations.enforcement.models import EnforcementAction
from tests.accounts.factories import AccountFactory

pytestmark = pytest.mark.django_db


def pager_links(page: str) -> dict[str, dict[str, list[str]]]:
    """Each pager link as 'next:<param>' / 'previous:<param>' -> its parsed query."""
    links: dict[str, dict[str, list[str]]] = {}
    for pager in re.findall(r'<p class="pager">(.*?)</p>', page, re.S):
        for href, label in re.findall(r'<a href="([^"]*)">([^<]*)</a>', pager):
            raw = urlsplit(html.unescape(href)).query
            own = raw.split("=", 1)[0]  # a pager's own parameter comes first, the kept ones follow
            links[f"{'next' if 'next' in label else 'previous'}:{own}"] = parse_qs(raw)
    return links


def test_page_two_of_a_status_filtered_action_list_keeps_the_filter(client, analyst, lead):
    EnforcementAction.objects.bulk_create(
        [EnforcementAction(kind="ban", reason="r", status="rejected", requested_by=analyst) for _ in range(51)]
        + [EnforcementAction(kind="ban", reason="r", status="applied", requested_by=analyst) for _ in range(60)]
    )
    client.force_login(lead)
    first = client.get("/enforcement/", {"status": "rejected"}).content.decode()
    following = pager_links(first)["next:page"]
    assert following == {"page": ["2"], "status": ["rejected"]}
    second = client.get("/enforcement/", {k: v[0] for k, v in following.items()}).content.decode()
    assert "page 2 of 2" in second and pager_links(second)["previous:page"] == {"page": ["1"], "status": ["rejected"]}


def test_the_item_and_change_pagers_of_an_action_keep_each_others_place(client, analyst, monkeypatch):
    monkeypatch.setattr(views, "ITEMS_PER_PAGE", 2)
    monkeypatch.setattr(views, "CHANGES_PER_PAGE", 2)
    accounts = AccountFactory.create_batch(5)
    action = services.action_request(actor=analyst, kind="ban", reason="r", accounts=[a.pk for a in accounts])
    client.force_login(analyst)
    page = client.get(f"/enforcement/actions/{action.pk}/", {"items": 2, "changes": 3, "state": "pending"})
    links = pager_links(page.content.decode())
    assert links["next:items"] == {"items": ["3"], "changes": ["3"], "state": ["pending"]}
    assert links["previous:changes"] == {"changes": ["2"], "items": ["2"], "state": ["pending"]}
