"""Synchronized activity keeps each flagged account's windows: a batch's run re-reads only its own accounts."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest

from investigations.detection.event_scan import scan_events
from investigations.detection.models import AccountLink, ActivityWindows
from investigations.detection.signals.sync_activity import (
    MIN_SHARED,
    WINDOW_MINUTES,
    _windows_from_events,
    _windows_from_scan,
    sync_activity_refresh,
)
from tests.accounts.factories import AccountFactory, UsageEventFactory
from tests.detection.scenario import START

pytestmark = pytest.mark.django_db
WINDOW = timedelta(minutes=WINDOW_MINUTES)


def _flagged(n: int):
    return [AccountFactory(flagged_at=START) for _ in range(n)]


def _active(account, windows, *, offset=timedelta(minutes=3), batch_id=1):
    for w in windows:
        UsageEventFactory(account=account, ts=START + w * WINDOW + offset, batch_id=batch_id)


def _links() -> set[tuple[int, int]]:
    links = AccountLink.objects.filter(signal=AccountLink.Signal.SYNC_ACTIVITY)
    return set(links.values_list("account_a", "account_b"))


def test_a_batch_run_links_like_a_full_run_and_reads_only_its_accounts():
    a, b, person = _flagged(3)
    c = AccountFactory()  # not flagged yet: a head of the same script
    shared = range(0, MIN_SHARED + 4)
    for account in (a, b, c):
        _active(account, shared)
    _active(person, range(200, 230, 2))
    sync_activity_refresh()
    assert _links() == {(a.pk, b.pk)}
    stored_b = bytes(ActivityWindows.objects.get(account=b).windows)

    # The next batch flags c (its windows come from all its events) and adds a window to a's
    # (from the batch's events, added to the stored ones); b is not in it.
    c.flagged_at = START
    c.save(update_fields=["flagged_at"])
    _active(a, [MIN_SHARED + 4], batch_id=2)
    sync_activity_refresh(batch_id=2, account_ids=[a.pk, c.pk])
    incremental = _links()
    assert incremental == {(a.pk, b.pk), (a.pk, c.pk), (b.pk, c.pk)}
    assert bytes(ActivityWindows.objects.get(account=b).windows) == stored_b
    assert len(ActivityWindows.objects.get(account=a).windows) == 8 * (MIN_SHARED + 5)
    sync_activity_refresh(batch_id=2, account_ids=[a.pk, c.pk])  # a retried run adds nothing twice
    assert len(ActivityWindows.objects.get(account=a).windows) == 8 * (MIN_SHARED + 5)

    sync_activity_refresh()
    assert _links() == incremental


def test_the_event_scan_and_the_event_query_cut_the_same_windows():
    """Both sources, at a window's first microsecond and just before it, give the same window numbers."""
    a, b = _flagged(2)
    _active(a, range(0, 40), offset=timedelta(0))
    _active(b, range(0, 40), offset=-timedelta(microseconds=1))
    flagged = [a.pk, b.pk]
    first = int(START.timestamp()) // int(WINDOW.total_seconds()) + 20
    scanned = _windows_from_scan(scan_events(), flagged, first)
    queried = _windows_from_events(flagged, first)
    assert set(scanned) == set(queried) == set(flagged)
    for account in flagged:
        assert np.array_equal(scanned[account], queried[account])
    assert scanned[a.pk].min() == first and len(scanned[a.pk]) == 20
    assert scanned[b.pk].min() == first and len(scanned[b.pk]) == 19  # its event of window `first` is before it
