"""The numpy helpers the full run's one event scan feeds: same answers as `np.unique`."""

from __future__ import annotations

import numpy as np
import pytest

from investigations.detection.event_scan import account_codes, distinct


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_distinct_matches_unique(seed):
    rng = np.random.default_rng(seed)
    keys = rng.integers(-(1 << 40), 1 << 40, 50_000) // 1000  # many repeats, negatives too
    assert np.array_equal(distinct(keys), np.unique(keys))


def test_distinct_of_nothing():
    assert distinct(np.zeros(0, dtype=np.int64)).size == 0


@pytest.mark.parametrize(
    "accounts",
    [
        np.array([7, 3, 3, 9, 7, 7, 12], dtype=np.int64),  # dense range: the lookup table
        np.array([5, 10**12, 5, 42, 10**12], dtype=np.int64),  # sparse: falls back to np.unique
        np.zeros(0, dtype=np.int64),
    ],
)
def test_account_codes_match_unique_with_inverse(accounts):
    got, index = account_codes(accounts)
    want, want_index = np.unique(accounts, return_inverse=True)
    assert np.array_equal(got, want)
    assert np.array_equal(index, want_index)
    assert np.array_equal(got[index], accounts)
