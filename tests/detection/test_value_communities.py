"""Value communities: wearers of one value tied by behaviour join; strangers behind one value stay apart."""

from __future__ import annotations

from investigations.detection.models import Indicator
from investigations.detection.signals.shared_values import value_communities

Kind = Indicator.Kind


def _links(pairs):
    links: dict[int, list] = {}
    for a, b in pairs:
        links.setdefault(a, []).append((b, "prompt_echo", 0.0, 1))
        links.setdefault(b, []).append((a, "prompt_echo", 0.0, 1))
    return links


def _alone(x: int) -> int:
    return x


def test_an_operator_on_a_card_each_is_joined_through_its_harness_and_weak_echoes():
    heads = list(range(1, 13))
    # Each head echoed two others once: every link alone is too weak to count.
    echoes = [(h, heads[(i + 1) % 12]) for i, h in enumerate(heads)] + [
        (h, heads[(i + 5) % 12]) for i, h in enumerate(heads)
    ]
    groups = list(value_communities({100: heads}, {100: Kind.TOOLS}, _links(echoes), _alone))
    assert groups == [heads]


def test_strangers_behind_one_vpn_exit_with_a_chance_echo_stay_apart():
    wearers = list(range(1, 41))
    groups = list(value_communities({7: wearers}, {7: Kind.IP}, _links([(1, 2), (2, 3)]), _alone))
    assert groups == []


def test_a_popular_user_agent_is_never_read_even_when_its_wearers_are_tied():
    heads = list(range(1, 9))
    echoes = [(a, b) for a in heads for b in heads if a < b]
    assert list(value_communities({5: heads}, {5: Kind.USER_AGENT}, _links(echoes), _alone)) == []


def test_a_lone_account_with_one_chance_link_is_not_pulled_into_an_operator():
    heads = list(range(1, 11))
    echoes = [(a, b) for a in heads for b in heads if a < b] + [(10, 99)]
    groups = list(value_communities({3: [*heads, 99]}, {3: Kind.SYSTEM_PROMPT}, _links(echoes), _alone))
    assert groups == [heads]


def test_two_operators_replaying_one_public_prompt_set_are_not_merged_by_a_few_cross_echoes():
    a, b = list(range(1, 21)), list(range(101, 121))
    cluster = dict.fromkeys(a, 1) | dict.fromkeys(b, 101)
    # Both operators already are clusters; two chance echoes between them are not a tie.
    groups = list(value_communities({9: a + b}, {9: Kind.TOOLS}, _links([(1, 101), (2, 102)]), lambda x: cluster[x]))
    assert groups == []
