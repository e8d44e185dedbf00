"""Precompute a case's stored aggregates and chart figures, so its first view after detection is warm.

The case page reads everything through `cached_aggregate` keyed by data version;
when detection changes a case the version changes and the next viewer would pay
for the whole recomputation (about 10 s for a case over 5M events). Running the
same selectors here, in a worker, stores the results under the new version.
Nothing the analyst sees changes, so nothing is audited.
"""

from __future__ import annotations

import logging
import zoneinfo
from collections.abc import Iterable

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from investigations.models import AggregateSnapshot, Case
from investigations.selectors import figures as figure_selectors
from investigations.selectors import links as link_selectors
from investigations.selectors import usage as usage_selectors

logger = logging.getLogger(__name__)

# Zones whose charts are stored per case (besides the server's): those viewers already used.
MAX_ZONES = 8


def _zones_for(case: Case) -> list[str]:
    """The server's zone plus every zone this case's usage was already drawn in (keys end in the zone)."""
    seen = AggregateSnapshot.objects.filter(key__startswith=f"case-usage:{case.pk}:").values_list("key", flat=True)
    zones = [settings.TIME_ZONE, *sorted({key.rsplit(":", 1)[1] for key in seen})]
    valid = []
    for name in dict.fromkeys(zones):
        try:
            zoneinfo.ZoneInfo(name)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            continue
        valid.append(name)
    return valid[:MAX_ZONES]


def figures_refresh(case_ids: Iterable[int]) -> int:
    """Compute and store the links, graphs, account totals and usage charts of the given cases.

    Unknown or deleted case ids are skipped. Returns how many cases were refreshed.
    """
    done = 0
    for case in Case.objects.filter(pk__in=sorted(set(case_ids))).order_by("pk"):
        link_selectors.case_links(case=case)
        for can_view_pii in (False, True):
            figure_selectors.case_graph_figure(case=case, can_view_pii=can_view_pii)
        usage_selectors.case_account_totals(case=case)
        for name in _zones_for(case):
            with timezone.override(zoneinfo.ZoneInfo(name)):
                figure_selectors.case_usage_figures(case=case)
        done += 1
    return done


def _runs_inline() -> bool:
    return bool(getattr(settings, "CELERY_TASK_ALWAYS_EAGER", False))


def figures_refresh_later(case_ids: Iterable[int]) -> None:
    """Queue `figures_refresh` for after the current transaction commits (the worker must see the new data).

    Call it from any service that changes which accounts a case holds or their evidence
    (detection after it updates cases, the analysts' merge/split/move/attach). In embedded
    mode tasks run inline, which would make the changing request pay for the figures;
    nothing is queued then and the page computes them on its first view.
    """
    ids = sorted({int(i) for i in case_ids if i})
    if not ids or _runs_inline():
        return
    from investigations.tasks import figures_refresh_task  # tasks import this module

    transaction.on_commit(lambda: figures_refresh_task.delay(ids))
