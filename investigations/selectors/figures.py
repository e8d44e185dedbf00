"""Finished chart figures of a case, stored like the aggregates they are drawn from.

Building a plotly figure (validation, the graph layout) costs more than reading
a stored aggregate, so the case page keeps the figure JSON per data version too.
"""

from __future__ import annotations

from typing import Any

import orjson
import plotly.graph_objects as go

from accounts.models import Account
from investigations import charts
from investigations.models import Case
from investigations.selectors import links as link_selectors
from investigations.selectors.snapshots import cached_aggregate, case_members_version, events_version
from investigations.selectors.usage import account_usage, case_usage, tz_label


def figure_data(fig: go.Figure) -> dict[str, Any]:
    """A figure as plain JSON data for `json_script` (plotly's encoder handles dates and arrays)."""
    return orjson.loads(fig.to_json())


def masked_links(links: dict[str, Any], *, can_view_pii: bool) -> dict[str, Any]:
    return {
        "accounts": links["accounts"],
        "indicators": [
            [s, link_selectors.mask_value(s, v, can_view_pii=can_view_pii), n, w] for s, v, n, w in links["indicators"]
        ],
    }


def case_graph_figure(*, case: Case, can_view_pii: bool) -> dict[str, Any]:
    """{"figure": ..., "meta": {"collapsed", "accounts", "indicators"}} for the case's cluster graph."""

    def compute() -> dict[str, Any]:
        links = link_selectors.case_links(case=case)
        fig = charts.cluster_graph(masked_links(links, can_view_pii=can_view_pii), seed=f"case-{case.pk}")
        data = figure_data(fig)
        return {"figure": data, "meta": data["layout"].get("meta", {})}

    return cached_aggregate(
        key=f"case-graph:{case.pk}:{int(can_view_pii)}", version=case_members_version(case), compute=compute
    )


def case_usage_figures(*, case: Case) -> dict[str, Any]:
    """The case's timeline and heatmap figures (in the viewer's time zone), or empty when it has no traffic."""
    tz_name = tz_label()

    def compute() -> dict[str, Any]:
        hourly = case_usage(case=case)["hourly"]
        if not hourly:
            return {}
        return {
            "timeline": figure_data(charts.usage_timeline(hourly, tz_name=tz_name)),
            "heatmap": figure_data(charts.activity_heatmap(hourly, tz_name=tz_name)),
        }

    version = f"{events_version()}|{case_members_version(case)}"
    return cached_aggregate(key=f"case-usage-fig:{case.pk}:{tz_name}", version=version, compute=compute)


def account_usage_figures(*, account: Account) -> dict[str, Any]:
    """One account's timeline and heatmap figures, stored until new events arrive (empty without traffic)."""
    tz_name = tz_label()

    def compute() -> dict[str, Any]:
        hourly = account_usage(account=account)
        if not hourly:
            return {}
        return {
            "timeline": figure_data(charts.usage_timeline(hourly, tz_name=tz_name)),
            "heatmap": figure_data(charts.activity_heatmap(hourly, tz_name=tz_name)),
        }

    return cached_aggregate(
        key=f"account-usage-fig:{account.pk}:{tz_name}", version=str(events_version()), compute=compute
    )
