"""The shortcuts that keep a clustering pass fast change nothing it computes."""

from __future__ import annotations

import gc
import random

import pytest

from investigations.detection.clustering import UnionFind, cluster_accounts
from investigations.detection.models import AccountLink
from tests.accounts.factories import AccountFactory


def test_roots_agree_with_find_and_leave_the_sets_as_they_were():
    rng = random.Random(7)
    uf = UnionFind()
    uf.add_all(range(500))
    for _ in range(400):
        uf.union(rng.randrange(500), rng.randrange(500))
    sizes = dict(uf.size)

    roots = uf.roots()

    assert list(roots) == list(uf.parent)
    assert all(roots[x] == uf.find(x) for x in range(500))
    assert uf.size == sizes
    assert uf.roots() == roots


@pytest.mark.django_db
def test_links_read_by_the_raw_cursor_are_the_stored_ones_both_ways():
    a, b = AccountFactory(), AccountFactory()
    AccountLink.objects.create(account_a=a, account_b=b, signal=AccountLink.Signal.SYNC_ACTIVITY, weight=0.3, count=4)

    links = cluster_accounts().links

    assert links == {a.pk: [(b.pk, "sync_activity", 0.3, 4)], b.pk: [(a.pk, "sync_activity", 0.3, 4)]}
    assert [type(x) for x in links[a.pk][0]] == [int, str, float, int]


@pytest.mark.django_db
def test_a_clustering_pass_leaves_the_garbage_collector_as_it_found_it():
    cluster_accounts()
    assert gc.isenabled()

    gc.disable()
    try:
        cluster_accounts()
        assert not gc.isenabled()
    finally:
        gc.enable()
