"""Sign-up bursts: several accounts created within minutes of each other with one e-mail pattern.

A sign-up script mints `user1041@…`, `user1042@…` in a loop; people with
similar addresses sign up on different days. Accounts of one pattern are
sorted by sign-up time and cut wherever the gap exceeds `BURST_GAP`; a run of
at least `MIN_BURST` accounts links each account to the next (a chain keeps
the link count linear in the burst size). Always recomputed whole: it reads
only the patterns shared by several accounts, a small slice of the index.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from investigations.detection.models import AccountIndicator, AccountLink, Indicator
from investigations.detection.signals import PairLink, links_replace

SIGNAL = AccountLink.Signal.SIGNUP_BURST
BURST_GAP = timedelta(minutes=30)
MIN_BURST = 3
# Below the clustering threshold: numeric addresses (`12345@qq.com` -> `#@qq.com`) make some
# patterns common, so a burst needs a second kind of evidence.
WEIGHT = 0.4


def burst_runs(signups: list[tuple[datetime, int]]) -> list[list[int]]:
    """Split (created_at, account) pairs of one pattern into bursts of at least MIN_BURST accounts."""
    runs: list[list[int]] = []
    current: list[int] = []
    last: datetime | None = None
    for created, account in sorted(signups):
        if last is not None and created - last > BURST_GAP:
            if len(current) >= MIN_BURST:
                runs.append(current)
            current = []
        current.append(account)
        last = created
    if len(current) >= MIN_BURST:
        runs.append(current)
    return runs


def signup_burst_refresh() -> int:
    """Replace every sign-up-burst link. Returns the number of links written."""
    by_pattern: dict[str, list[tuple[datetime, int]]] = defaultdict(list)
    rows = AccountIndicator.objects.filter(
        indicator__kind=Indicator.Kind.EMAIL_PATTERN,
        indicator__account_count__gte=MIN_BURST,
        indicator__value__contains="#",
        indicator__value__regex=r"^[^@]*[a-z][^@]*@",
        account__created_at__isnull=False,
    ).values_list("indicator__value", "account__created_at", "account_id")
    for pattern, created, account in rows.iterator(chunk_size=5000):
        by_pattern[pattern].append((created, account))
    links = []
    for pattern, signups in by_pattern.items():
        for run in burst_runs(signups):
            for a, b in zip(run, run[1:], strict=False):
                links.append(PairLink(a, b, SIGNAL, WEIGHT, len(run), {"pattern": pattern, "burst": len(run)}))
    return links_replace(SIGNAL, links)
