"""Value communities: wearers of one value tied by behaviour join; strangers behind one value stay apart."""

from __future__ import annotations

from datetime import timedelta

import pytest

from accounts.simhash import hex_to_signed, simhash_hex
from investigations.detection.clustering import cluster_accounts
from investigations.detection.indicators import indicators_refresh
from investigations.detection.models import AccountLink, Indicator
from investigations.detection.signals.prompt_echo import days_with_events, prompt_echo_refresh
from investigations.detection.signals.shared_values import value_communities
from tests.accounts.factories import AccountFactory, UsageEventFactory
from tests.detection.scenario import START

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


@pytest.mark.django_db
def test_clustering_joins_a_card_per_account_operator_through_its_harness_and_weak_echoes_only():
    """Through the database: weak echo links (one echoed prompt per pair) must be stored and read."""
    # Addresses without digits: no shared e-mail pattern to link them by.
    heads = [
        AccountFactory(payment_fingerprint=f"prepaid_{i}", email=f"head.{c}@mail.example")
        for i, c in enumerate("abcdef")
    ]
    strangers = [
        AccountFactory(payment_fingerprint=f"card_{i}", email=f"who.{c}@mail.example") for i, c in enumerate("uvwxyz")
    ]
    harness, public = "a" * 64, "b" * 64
    prompt = "Solve problem {n} step by step and show all of your reasoning before giving the final answer please"
    for i, head in enumerate(heads):
        for k, partner in enumerate((heads[(i + 1) % 6], heads[(i + 2) % 6])):
            ts = START + timedelta(hours=i * 2 + k)
            text = prompt.format(n=f"{i}-{k}")
            for account, when in ((head, ts), (partner, ts + timedelta(seconds=20))):
                UsageEventFactory(account=account, ts=when, tools_sha256=harness, prompt_simhash=_sim(text))
    for i, stranger in enumerate(strangers):  # a public toolkit: same schema, no echoes between its users
        UsageEventFactory(
            account=stranger, ts=START + timedelta(hours=i), tools_sha256=public, prompt_simhash=_sim(f"q{i}")
        )
    for account in heads[:2] + strangers[:2]:
        account.flagged_at = START
        account.save(update_fields=["flagged_at"])
    indicators_refresh()
    prompt_echo_refresh(days=days_with_events())
    weak = AccountLink.objects.filter(signal=AccountLink.Signal.PROMPT_ECHO)
    assert weak.exists() and all(link.weight == 0.0 for link in weak)
    assert [set(c) for c in cluster_accounts().components] == [{a.pk for a in heads}]


def _sim(text: str) -> int:
    return hex_to_signed(simhash_hex(text))


def test_a_lab_whose_homework_is_too_common_to_echo_is_joined_by_what_it_wears_together():
    students = list(range(1, 31))
    nat, signup, course, domain = 1, 2, 3, 4
    members = {nat: students, signup: students[:24], course: students[5:], domain: students}
    kinds = {nat: Kind.IP, signup: Kind.SIGNUP_IP, course: Kind.SYSTEM_PROMPT, domain: Kind.EMAIL_DOMAIN}
    groups = list(value_communities(members, kinds, {}, _alone))
    assert groups and set(groups[0]) == set(students)


def test_strangers_behind_a_vpn_exit_who_also_signed_up_through_it_stay_apart():
    people = list(range(1, 41))
    gmail = list(range(1, 500))  # a common domain: worn by most of them, but mostly by others
    members = {1001: people, 1002: people[:25], 1003: gmail}
    kinds = {1001: Kind.IP, 1002: Kind.SIGNUP_IP, 1003: Kind.EMAIL_DOMAIN}
    assert list(value_communities(members, kinds, {}, _alone)) == []


def test_two_chance_echoes_with_a_big_operators_cover_traffic_do_not_pull_a_person_in():
    heads = list(range(1, 31))
    echoes = [(a, b) for a in heads for b in heads if a < b] + [(1, 99), (2, 99)]
    groups = list(value_communities({3: [*heads, 99]}, {3: Kind.TOOLS}, _links(echoes), _alone))
    assert groups == [heads]


def test_two_operators_on_one_public_prompt_set_stay_apart_though_their_heads_echo_each_other_now_and_then():
    a, b = list(range(1, 31)), list(range(101, 131))
    cluster = dict.fromkeys(a, 1) | dict.fromkeys(b, 101)
    inside = [(x, y) for group in (a, b) for x in group for y in group if x < y and (x + y) % 3 == 0]
    cross = [(x, x + 100) for x in a[:12]]  # 12 ties: over TIE_SHARE of 30, far sparser than inside
    members, kinds = {9: a + b}, {9: Kind.TOOLS}
    assert list(value_communities(members, kinds, _links(inside + cross), lambda x: cluster[x])) == []


def test_one_operators_card_groups_tied_as_densely_as_inside_them_join():
    groups = [list(range(10 * g + 1, 10 * g + 6)) for g in range(4)]  # four cards, five heads each
    cluster = {x: group[0] for group in groups for x in group}
    heads = [x for group in groups for x in group]
    echoes = [(x, y) for x in heads for y in heads if x < y and (x * y) % 2 == 0]
    joined = list(value_communities({5: heads}, {5: Kind.TOOLS}, _links(echoes), lambda x: cluster[x]))
    assert joined == [sorted(heads)]
