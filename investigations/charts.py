"""Plotly figures, built by pure functions from selector output (aggregates only, no ORM here).

Each function returns a `go.Figure`; views pass `fig.to_json()` through
`json_script` and `static/js/charts.js` draws it.
"""

from __future__ import annotations

import hashlib
import html
import math
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

# Calm, colour-blind-friendly palette shared with app.css.
COLORS = {
    "high": "#c2413b",
    "medium": "#d69a2d",
    "low": "#4f8a5b",
    "none": "#a3acb9",
    "flagged": "#d9622b",
    "linked": "#4c6fd1",
    "banned": "#2b2f36",
    "indicator": "#8b95a5",
}
CATEGORY_COLORS = {
    "chat": "#8fa8d8",
    "coding": "#4c6fd1",
    "agentic": "#7b5cc4",
    "reasoning": "#d9622b",
    "vision": "#3f9c8f",
    "other": "#b3a16a",
    "unknown": "#c5cad3",
}
FONT = {"family": "system-ui, -apple-system, 'Segoe UI', Roboto, 'DejaVu Sans', sans-serif", "size": 12}
MAX_BUCKETS = 300
# Bucket widths in hours, smallest first: the first that keeps the chart under MAX_BUCKETS wins.
BUCKET_HOURS = (1, 3, 6, 12, 24, 24 * 7)
HEATMAP_DAYS = 90
# Above this many accounts the graph shows groups of accounts instead of single accounts.
COLLAPSE_ABOVE = 300
MAX_INDICATOR_NODES = 150
MAX_GROUPS = 200


def _layout(fig: go.Figure, *, height: int, **extra: Any) -> go.Figure:
    margin = {"l": 50, "r": 20, "t": 30, "b": 40, **extra.pop("margin", {})}
    fig.update_layout(
        height=height,
        margin=margin,
        paper_bgcolor="#ffffff",
        plot_bgcolor="#ffffff",
        font=FONT,
        legend={"orientation": "h", "y": -0.18},
        hoverlabel={"font": FONT},
        **extra,
    )
    fig.update_xaxes(gridcolor="#eef0f3", zeroline=False)
    fig.update_yaxes(gridcolor="#eef0f3", zeroline=False)
    return fig


# ---- overview ---------------------------------------------------------------------------


def _risk_of(score: float) -> str:
    from investigations.models import Case

    return Case.risk_level_of(score)


def volume_by_risk(daily: list[list[Any]], cases: dict[str, list[Any]]) -> go.Figure:
    """Requests per day, stacked by the risk band of the case each account is in."""
    series: dict[str, dict[str, int]] = {k: defaultdict(int) for k in ("high", "medium", "low", "none")}
    for day, case_id, requests, _tokens in daily:
        band = "none" if case_id is None or str(case_id) not in cases else _risk_of(cases[str(case_id)][1])
        series[band][day[:10]] += requests
    days = sorted({d for s in series.values() for d in s})
    fig = go.Figure()
    names = {"high": "High-risk cases", "medium": "Medium-risk cases", "low": "Low-risk cases", "none": "In no case"}
    for band in ("high", "medium", "low", "none"):
        fig.add_trace(
            go.Bar(x=days, y=[series[band].get(d, 0) for d in days], name=names[band], marker_color=COLORS[band])
        )
    return _layout(fig, height=300, barmode="stack", yaxis_title="requests / day")


def tokens_by_operator(daily: list[list[Any]], cases: dict[str, list[Any]], *, top: int = 15) -> go.Figure:
    """Output tokens harvested per case (operator), largest first."""
    totals: dict[str, int] = defaultdict(int)
    for _day, case_id, _requests, tokens in daily:
        if case_id is not None and str(case_id) in cases:
            totals[str(case_id)] += tokens
    ranked = sorted(totals.items(), key=lambda kv: -kv[1])[:top][::-1]
    labels = [f"#{cid} {cases[cid][0][:28]}{'…' if len(cases[cid][0]) > 28 else ''}" for cid, _ in ranked]
    fig = go.Figure(
        go.Bar(
            x=[t for _, t in ranked],
            y=labels,
            orientation="h",
            marker_color=[COLORS[_risk_of(cases[cid][1])] for cid, _ in ranked],
            customdata=[f"/cases/{cid}/" for cid, _ in ranked],
            hovertemplate="%{y}<br>%{x:,} output tokens<extra></extra>",
        )
    )
    _layout(fig, height=max(220, 28 * len(ranked) + 60), xaxis_title="output tokens")
    fig.update_yaxes(automargin=True)
    return fig


# ---- timelines ----------------------------------------------------------------------------


def _bucket_hours(first: datetime, last: datetime) -> int:
    span_hours = (last - first).total_seconds() / 3600 + 1
    return next((h for h in BUCKET_HOURS if span_hours / h <= MAX_BUCKETS), BUCKET_HOURS[-1])


def _bucket_start(moment: datetime, hours: int) -> datetime:
    if hours >= 24 * 7:
        day = moment.replace(hour=0, minute=0, second=0, microsecond=0)
        return day - timedelta(days=day.weekday())
    if hours >= 24:
        return moment.replace(hour=0, minute=0, second=0, microsecond=0)
    return moment.replace(hour=moment.hour - moment.hour % hours, minute=0, second=0, microsecond=0)


def usage_timeline(hourly: list[list[Any]], *, tz_name: str) -> go.Figure:
    """Requests per bucket stacked by category, chain-of-thought share (right axis), and output tokens below."""
    fig = make_subplots(
        rows=2, cols=1, shared_xaxes=True, row_heights=[0.68, 0.32], vertical_spacing=0.06,
        specs=[[{"secondary_y": True}], [{}]],
    )  # fmt: skip
    if not hourly:
        return _layout(fig, height=380)
    moments = [datetime.fromisoformat(r[0]) for r in hourly]
    hours = _bucket_hours(min(moments), max(moments))
    by_cat: dict[str, dict[datetime, int]] = defaultdict(lambda: defaultdict(int))
    cot: dict[datetime, int] = defaultdict(int)
    total: dict[datetime, int] = defaultdict(int)
    tokens: dict[datetime, int] = defaultdict(int)
    for moment, (_h, category, n, c, out) in zip(moments, hourly, strict=True):
        b = _bucket_start(moment, hours)
        by_cat[category][b] += n
        cot[b] += c
        total[b] += n
        tokens[b] += out
    xs = sorted(total)
    x_text = [x.strftime("%Y-%m-%d %H:%M") for x in xs]
    for category in sorted(by_cat, key=lambda c: list(CATEGORY_COLORS).index(c) if c in CATEGORY_COLORS else 99):
        fig.add_trace(
            go.Bar(
                x=x_text, y=[by_cat[category].get(x, 0) for x in xs], name=html.escape(category),
                marker_color=CATEGORY_COLORS.get(category, "#999"),
            ),
            row=1, col=1, secondary_y=False,
        )  # fmt: skip
    fig.add_trace(
        go.Scatter(
            x=x_text, y=[round(cot[x] / total[x], 3) if total[x] else 0 for x in xs], name="CoT share",
            mode="lines", line={"color": "#111827", "width": 1.6}, yaxis="y2",
        ),
        row=1, col=1, secondary_y=True,
    )  # fmt: skip
    fig.add_trace(
        go.Scatter(
            x=x_text, y=[tokens[x] for x in xs], name="output tokens", mode="lines",
            fill="tozeroy", line={"color": "#7b5cc4", "width": 1.2},
        ),
        row=2, col=1,
    )  # fmt: skip
    width = {1: "hour", 3: "3 hours", 6: "6 hours", 12: "12 hours", 24: "day", 168: "week"}[hours]
    fig.update_yaxes(title_text=f"requests / {width}", row=1, col=1, secondary_y=False)
    fig.update_yaxes(title_text="CoT share", range=[0, 1], tickformat=".0%", row=1, col=1, secondary_y=True)
    fig.update_yaxes(title_text="output tokens", row=2, col=1)
    fig.update_xaxes(title_text=f"time ({tz_name})", row=2, col=1)
    return _layout(fig, height=420, barmode="stack", bargap=0.1)


def activity_heatmap(hourly: list[list[Any]], *, tz_name: str) -> go.Figure:
    """Requests by hour of day (rows) and day (columns): bots keep no office hours."""
    counts: dict[str, list[int]] = defaultdict(lambda: [0] * 24)
    for iso, _category, n, _cot, _out in hourly:
        counts[iso[:10]][int(iso[11:13])] += n
    days = sorted(counts)[-HEATMAP_DAYS:]
    z = [[counts[d][h] for d in days] for h in range(24)]
    fig = go.Figure(
        go.Heatmap(
            x=days, y=[f"{h:02d}:00" for h in range(24)], z=np.array(z, dtype=float), colorscale="Blues",
            colorbar={"title": "requests"},
            hovertemplate="%{x} %{y}<br>%{z:,} requests<extra></extra>",
        )
    )  # fmt: skip
    _layout(fig, height=360, xaxis_title="day", yaxis_title=f"hour of day ({tz_name})")
    fig.update_yaxes(autorange="reversed")
    return fig


# ---- cluster graph ------------------------------------------------------------------------


def spring_layout(n: int, edges: list[tuple[int, int]], *, seed: str, iterations: int = 60) -> np.ndarray:
    """Fruchterman-Reingold positions in [-1, 1]^2; deterministic for a given seed."""
    rng = np.random.default_rng(int(hashlib.sha256(seed.encode()).hexdigest()[:8], 16))
    pos = rng.uniform(-1, 1, size=(n, 2))
    if n <= 1:
        return pos * 0
    k = math.sqrt(4.0 / n)
    src = np.array([a for a, _ in edges], dtype=int)
    dst = np.array([b for _, b in edges], dtype=int)
    temperature = 0.2
    for _ in range(iterations):
        dx = pos[:, 0:1] - pos[:, 0]
        dy = pos[:, 1:2] - pos[:, 1]
        dist2 = np.maximum(dx * dx + dy * dy, 1e-6)
        push = (k * k) / dist2  # repulsion k^2/d, applied along the unit vector (delta / d)
        disp = np.stack([(dx * push).sum(axis=1), (dy * push).sum(axis=1)], axis=1)
        if len(edges):
            d = pos[src] - pos[dst]
            length = np.maximum(np.sqrt((d * d).sum(axis=1)), 1e-3)
            pull = d * (length / k)[:, None]
            for axis in (0, 1):
                disp[:, axis] -= np.bincount(src, weights=pull[:, axis], minlength=n)
                disp[:, axis] += np.bincount(dst, weights=pull[:, axis], minlength=n)
        disp -= pos * 0.05  # gentle gravity keeps unconnected parts on screen
        length = np.maximum(np.sqrt((disp * disp).sum(axis=1)), 1e-9)
        pos += disp / length[:, None] * np.minimum(length, temperature)[:, None]
        temperature *= 0.95
    pos -= pos.mean(axis=0)
    scale = np.abs(pos).max() or 1.0
    return pos / scale


def _edge_trace(pos: np.ndarray, edges: list[tuple[int, int]]) -> go.Scattergl:
    # Segments separated by NaN (a gap in the line); numpy arrays skip plotly's per-item validation.
    if edges:
        pairs = np.array(edges, dtype=int)
        xs = np.column_stack([pos[pairs[:, 0], 0], pos[pairs[:, 1], 0], np.full(len(pairs), np.nan)]).ravel()
        ys = np.column_stack([pos[pairs[:, 0], 1], pos[pairs[:, 1], 1], np.full(len(pairs), np.nan)]).ravel()
    else:
        xs = ys = np.array([], dtype=float)
    return go.Scattergl(x=xs, y=ys, mode="lines", line={"color": "#d5dae1", "width": 1}, hoverinfo="skip",
                        showlegend=False)  # fmt: skip


def _indicator_label(signal: str, value: str) -> str:
    """A short node label, HTML-escaped: plotly renders hover text as HTML and values come from traffic."""
    short = value if len(value) <= 24 else value[:10] + "…" + value[-8:]
    return html.escape(f"{signal}: {short}")


def cluster_graph(links: dict[str, Any], *, collapse_above: int = COLLAPSE_ABOVE, seed: str = "") -> go.Figure:
    """Accounts and the indicators linking them; above `collapse_above` accounts, groups of accounts.

    `links` is `selectors.links.case_links` output (values already masked for the
    viewer). Every node's customdata is "account:<id>" or "indicator:<index>" so a
    click can load the matching detail. Drawn with WebGL (`scattergl`).
    """
    accounts, indicators = links["accounts"], links["indicators"][:MAX_INDICATOR_NODES]
    shown = len(indicators)
    collapsed = len(accounts) > collapse_above
    if collapsed:
        nodes, node_edges = _grouped_nodes(accounts, indicators)
    else:
        nodes = [
            {"kind": "account", "state": a[2], "ref": f"account:{a[1]}", "label": html.escape(a[1]), "size": 9,
             "hover": f"{html.escape(a[1])}<br>{html.escape(a[2])}<br>"
                      f"{len([i for i in a[3] if i < shown])} shared indicators"}
            for a in accounts
        ]  # fmt: skip
        node_edges = [(ai, ii) for ai, a in enumerate(accounts) for ii in a[3] if ii < shown]
    offset = len(nodes)
    for idx, (signal, value, count, _weight) in enumerate(indicators):
        nodes.append(
            {"kind": "indicator", "state": "indicator", "ref": f"indicator:{idx}",
             "label": _indicator_label(signal, value), "size": 8 + 14 * math.sqrt(count / max(len(accounts), 1)),
             "hover": f"{_indicator_label(signal, value)}<br>carried by {count} accounts"}
        )  # fmt: skip
    edges = [(a, offset + i) for a, i in node_edges]
    pos = spring_layout(len(nodes), edges, seed=seed or str(len(nodes)))
    fig = go.Figure()
    fig.add_trace(_edge_trace(pos, edges))
    names = {
        "flagged": "Flagged",
        "linked": "Linked, not flagged",
        "banned": "Banned",
        "indicator": "Shared indicator",
    }
    for state in ("flagged", "linked", "banned", "indicator"):
        members = [i for i, n in enumerate(nodes) if n["state"] == state]
        if not members:
            continue
        fig.add_trace(
            go.Scattergl(
                x=pos[members, 0],
                y=pos[members, 1],
                mode="markers",
                name=names[state] + (" (groups)" if collapsed and state != "indicator" else ""),
                marker={
                    "color": COLORS[state],
                    "size": np.array([nodes[i]["size"] for i in members], dtype=float),
                    "symbol": "diamond" if state == "indicator" else "circle",
                    "line": {"color": "#ffffff", "width": 1},
                },
                text=[nodes[i]["hover"] for i in members],
                customdata=[nodes[i]["ref"] for i in members],
                hovertemplate="%{text}<extra></extra>",
            )
        )
    _layout(fig, height=520, dragmode="pan", hovermode="closest", margin={"l": 10, "r": 10, "t": 10, "b": 10})
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    fig.update_layout(meta={"collapsed": collapsed, "accounts": len(accounts), "indicators": shown})
    return fig


def _grouped_nodes(accounts: list[list[Any]], indicators: list[list[Any]]) -> tuple[list[dict], list[tuple[int, int]]]:
    """Collapse accounts into groups keyed by their most specific shared indicator.

    The most specific indicator (fewest carriers) separates sub-clusters such as
    one proxy pool or one payment card; accounts sharing nothing form one group.
    """
    shown = len(indicators)
    groups: dict[int, list[list[Any]]] = defaultdict(list)
    for a in accounts:
        carried = [i for i in a[3] if i < shown]
        key = min(carried, key=lambda i: (indicators[i][2], i)) if carried else -1
        groups[key].append(a)
    ordered = sorted(groups.items(), key=lambda kv: -len(kv[1]))
    if len(ordered) > MAX_GROUPS:
        rest = [a for _, members in ordered[MAX_GROUPS - 1 :] for a in members]
        ordered = [*ordered[: MAX_GROUPS - 1], (-1, rest)]
    nodes: list[dict] = []
    edges: list[tuple[int, int]] = []
    for gi, (key, members) in enumerate(ordered):
        states = defaultdict(int)
        for a in members:
            states[a[2]] += 1
        # A group is drawn banned when most of it is, flagged when it holds any flagged account.
        if states["banned"] * 2 > len(members):
            majority = "banned"
        elif states["flagged"]:
            majority = "flagged"
        else:
            majority = max(states, key=lambda s: states[s])
        label = _indicator_label(*indicators[key][:2]) if key >= 0 else "no shared indicator shown"
        nodes.append(
            {"kind": "group", "state": majority, "ref": f"indicator:{key}" if key >= 0 else "group:none",
             "label": label, "size": 8 + 4 * math.sqrt(len(members)),
             "hover": f"{len(members)} accounts via {label}<br>"
             + ", ".join(f"{n} {html.escape(s)}" for s, n in sorted(states.items()))}
        )  # fmt: skip
        carried = {i for a in members for i in a[3] if i < shown}
        edges.extend((gi, i) for i in sorted(carried))
    return nodes, edges
