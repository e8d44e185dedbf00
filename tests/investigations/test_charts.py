"""Pure figure builders: bounded buckets, collapsed graphs, colours by account state."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from investigations import charts


def _hourly(days: int) -> list[list]:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    return [[(start + timedelta(hours=h)).isoformat(), "coding", 3, 1, 100] for h in range(days * 24)]


def test_a_long_timeline_is_rebucketed_to_a_few_hundred_bars():
    fig = charts.usage_timeline(_hourly(90), tz_name="UTC")
    bars = [t for t in fig.data if t.type == "bar"]
    assert 0 < len(bars[0].x) <= charts.MAX_BUCKETS
    assert sum(bars[0].y) == 90 * 24 * 3  # nothing lost in re-bucketing


def test_heatmap_has_24_hours_by_day():
    fig = charts.activity_heatmap(_hourly(3), tz_name="UTC")
    assert len(fig.data[0].z) == 24 and len(fig.data[0].x) == 3


def _links(n: int) -> dict:
    accounts = [[i, f"a{i}", "banned" if i % 7 == 0 else "flagged" if i % 3 == 0 else "linked", [0, 1 + i // 50]]
                for i in range(n)]  # fmt: skip
    indicators = [["payment", "pf_all", n, 0.9]] + [["ip", f"10.0.0.{g}", 50, 0.5] for g in range(n // 50 + 1)]
    return {"accounts": accounts, "indicators": indicators}


def test_small_cases_draw_every_account_with_webgl():
    fig = charts.cluster_graph(_links(40))
    refs = [r for t in fig.data for r in (t.customdata or [])]
    assert sum(r.startswith("account:") for r in refs) == 40
    assert {t.type for t in fig.data} == {"scattergl"}
    assert fig.layout.meta["collapsed"] is False


def test_large_cases_collapse_into_groups_by_shared_indicator():
    fig = charts.cluster_graph(_links(1500))
    refs = [r for t in fig.data for r in (t.customdata or [])]
    assert not any(r.startswith("account:") for r in refs)
    assert fig.layout.meta == {"collapsed": True, "accounts": 1500, "indicators": 32}
    group_points = sum(len(t.x) for t in fig.data if t.name and "(groups)" in t.name)
    assert group_points == 30  # one group per /ip pool, the most specific indicator each account carries


EVIL = '<a href="https://evil.example/">x</a>'


def _hover_texts(fig) -> str:
    return " ".join(str(t) for trace in fig.data for t in (trace.text or []))


def test_hover_text_escapes_attacker_controlled_values():
    # User agents, indicator values and account ids come from ingested traffic; plotly renders hover as HTML.
    links = {
        "accounts": [[0, f"acct{EVIL}", "flagged", [0]], [1, "acct_ok", "linked", [0]]],
        "indicators": [["user_agent", EVIL, 2, 0.5]],
    }
    for fig in (charts.cluster_graph(links), charts.cluster_graph(links, collapse_above=1)):
        hover = _hover_texts(fig)
        assert "<a href" not in hover
        assert "&lt;a href=&quot;" in hover
