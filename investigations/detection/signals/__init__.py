"""Linking signals, one module each. Every signal answers "how much does this say same operator?" as a weight 0-1.

- `shared_values`: indicator values two accounts (or account groups) share, weighted by kind and rarity.
- `prompt_echo`: near-identical prompts (`prompt_simhash`) sent by different accounts close in time.
- `signup_burst`: accounts signed up in a burst with one e-mail pattern.
- `sync_activity`: accounts active in the same minutes, again and again (SynchroTrap-style lockstep).

Behavioural signals write `AccountLink` rows through `store_links`; `shared_values` is read
directly from the indicator index at clustering time.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.db.models import Q

from investigations.detection.models import AccountLink


@dataclass
class PairLink:
    """A behavioural observation between two accounts (by primary key), before it is stored."""

    a: int
    b: int
    signal: str
    weight: float
    count: int = 1
    detail: dict = field(default_factory=dict)


def upsert_links(links: Iterable[PairLink]) -> int:
    """Write links (insert or overwrite weight, count and detail); the caller removes stale ones first."""
    rows: dict[tuple[int, int, str], AccountLink] = {}
    for link in links:
        a, b = (link.a, link.b) if link.a < link.b else (link.b, link.a)
        if a == b:
            continue
        rows[(a, b, link.signal)] = AccountLink(
            account_a_id=a, account_b_id=b, signal=link.signal, weight=link.weight, count=link.count, detail=link.detail
        )
    AccountLink.objects.bulk_create(
        rows.values(),
        batch_size=2000,
        update_conflicts=True,
        unique_fields=["account_a", "account_b", "signal"],
        update_fields=["weight", "count", "detail"],
    )
    return len(rows)


StoredLinks = dict[tuple[int, int], tuple[int, float, int, dict]]


def stored_links(signal: str) -> StoredLinks:
    """Every stored link of one signal: {(a, b): (pk, weight, count, detail)}, as plain tuples (no model objects)."""
    rows = AccountLink.objects.filter(signal=signal).values_list(
        "account_a_id", "account_b_id", "pk", "weight", "count", "detail"
    )
    return {(a, b): (pk, weight, count, detail or {}) for a, b, pk, weight, count, detail in rows.iterator(5000)}


def links_replace(signal: str, links: Iterable[PairLink], *, stored: StoredLinks | None = None) -> int:
    """Make the stored links of one signal exactly `links`, writing only what differs. Returns the links kept.

    Rewriting every link on every run costs time in proportion to all links ever
    found, while a batch changes only a few of them: unchanged rows are left alone,
    vanished ones deleted, new or changed ones upserted.
    """
    wanted: dict[tuple[int, int], PairLink] = {}
    for link in links:
        a, b = (link.a, link.b) if link.a < link.b else (link.b, link.a)
        if a != b:
            wanted[(a, b)] = link
    if stored is None:
        stored = stored_links(signal)
    stale = [row[0] for pair, row in stored.items() if pair not in wanted]
    for start in range(0, len(stale), 10_000):
        AccountLink.objects.filter(pk__in=stale[start : start + 10_000]).delete()
    changed = [
        link
        for pair, link in wanted.items()
        if pair not in stored or stored[pair][1:] != (link.weight, link.count, link.detail)
    ]
    upsert_links(changed)
    return len(wanted)


def links_touching(signal: str, account_ids: Sequence[int] | None):
    """The stored links of one signal that involve any of the accounts (all of them when None)."""
    links = AccountLink.objects.filter(signal=signal)
    if account_ids is None:
        return links
    return links.filter(Q(account_a_id__in=account_ids) | Q(account_b_id__in=account_ids))
