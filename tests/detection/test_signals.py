"""One test per linking signal, including the traps that must not link strangers."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from investigations.detection.clustering import (
    LINK_THRESHOLD,
    UnionFind,
    _trait_pass,
    cluster_accounts,
)
from investigations.detection.features import features_refresh
from investigations.detection.indicators import email_pattern, indicators_refresh
from investigations.detection.models import AccountFeatures, AccountIndicator, AccountLink, Indicator
from investigations.detection.signals import PairLink, links_replace
from investigations.detection.signals.prompt_echo import day_echo_pairs, echo_weight
from investigations.detection.signals.shared_values import value_weight
from investigations.detection.signals.signup_burst import burst_runs, signup_burst_refresh
from investigations.detection.signals.sync_activity import MIN_SHARED, sync_pairs
from tests.accounts.factories import AccountFactory, UsageEventFactory
from tests.detection.scenario import START

pytestmark = pytest.mark.django_db
Kind = Indicator.Kind


def _flag(*accounts) -> None:
    for account in accounts:
        account.flagged_at = START
        account.save(update_fields=["flagged_at"])


def _components() -> list[set[int]]:
    return [set(c) for c in cluster_accounts().components]


def test_features_are_sql_aggregates_per_account():
    account = AccountFactory()
    for hour, cot in [(1, True), (1, False), (13, True)]:
        UsageEventFactory(account=account, ts=START.replace(hour=hour), cot_requested=cot, ip="203.0.113.9")
    features_refresh(account_ids=[account.pk])
    features = AccountFeatures.objects.get(account=account)
    assert (features.events, features.cot_events, features.distinct_ips) == (3, 2, 1)
    assert features.hours[1] == 2 and features.hours[13] == 1
    assert features.output_tokens == 3 * 1200


def test_the_index_answers_who_else_has_a_value_and_how_many():
    a, b = AccountFactory(payment_fingerprint="pf_same"), AccountFactory(payment_fingerprint="pf_same")
    c = AccountFactory()
    UsageEventFactory(account=c, system_prompt_sha256="ab" * 32)
    indicators_refresh()
    payment = Indicator.objects.get(kind=Kind.PAYMENT, value="pf_same")
    assert payment.account_count == 2
    assert set(AccountIndicator.objects.filter(indicator=payment).values_list("account_id", flat=True)) == {a.pk, b.pk}
    assert Indicator.objects.get(kind=Kind.SYSTEM_PROMPT).account_count == 1
    # Incremental: c now pays with the same card; only c is re-derived and the count follows.
    c.payment_fingerprint = "pf_same"
    c.save()
    indicators_refresh(account_ids=[c.pk])
    assert Indicator.objects.get(kind=Kind.PAYMENT, value="pf_same").account_count == 3


def _index_rows() -> dict[tuple[int, int], tuple[int, str]]:
    """(account, indicator) -> (events, row version) of every index row."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT account_id, indicator_id, events, xmin::text FROM detection_accountindicator")
        return {(a, i): (n, version) for a, i, n, version in cursor.fetchall()}


def test_a_full_rebuild_writes_only_the_rows_that_differ_and_equals_a_build_from_nothing():
    a, b = AccountFactory(payment_fingerprint="pf_x"), AccountFactory(payment_fingerprint="pf_x")
    UsageEventFactory(account=a, ip="203.0.113.1", asn=64500)
    UsageEventFactory(account=b, ip="203.0.113.2", asn=64500)
    indicators_refresh()
    before = _index_rows()
    # A count grows (a's IP and ASN), a row goes and another comes (b's card), the rest stays.
    UsageEventFactory(account=a, ip="203.0.113.1", asn=64500)
    b.payment_fingerprint = "pf_y"
    b.save()
    indicators_refresh()
    after = _index_rows()

    def key(kind, value, account):
        return (account.pk, Indicator.objects.get(kind=kind, value=value).pk)

    assert after[key(Kind.IP, "203.0.113.1", a)][0] == 2
    assert key(Kind.PAYMENT, "pf_y", b) in after
    assert (b.pk, key(Kind.PAYMENT, "pf_x", a)[1]) not in after
    unchanged = set(before) & set(after)
    unchanged -= {key(Kind.IP, "203.0.113.1", a), key(Kind.ASN, "64500", a)}
    assert unchanged and all(after[row][1] == before[row][1] for row in unchanged)  # not rewritten

    AccountIndicator.objects.all().delete()
    indicators_refresh()
    assert {row: n for row, (n, _) in _index_rows().items()} == {row: n for row, (n, _) in after.items()}


def test_email_pattern_folds_counters():
    assert email_pattern("Li.Wei8812@mail.example") == "li.wei#@mail.example"


def test_shared_payment_links_at_any_count():
    accounts = [AccountFactory(payment_fingerprint="pf_card") for _ in range(3)]
    _flag(accounts[0])
    indicators_refresh()
    assert _components() == [{a.pk for a in accounts}]


def test_rare_system_prompt_and_harness_link_but_popular_ones_do_not():
    rare = [AccountFactory() for _ in range(3)]
    for account in rare:
        UsageEventFactory(account=account, system_prompt_sha256="aa" * 32, tools_sha256="bb" * 32)
    _flag(rare[0])
    indicators_refresh()
    assert _components() == [{a.pk for a in rare}]
    # Either alone needs corroboration (public templates exist); together they link.
    assert 0.3 < value_weight(Kind.SYSTEM_PROMPT, 2) < LINK_THRESHOLD
    assert value_weight(Kind.SYSTEM_PROMPT, 1000) == 0.0


def test_trap_shared_vpn_exit_big_cloud_asn_and_popular_user_agent_do_not_link_strangers():
    strangers = [AccountFactory(email=f"p{i}@x{i}.example") for i in range(40)]
    for account in strangers:
        UsageEventFactory(account=account, ip="198.51.100.77", asn=16509, user_agent="python-httpx/0.27.2")
    _flag(*strangers[:10])
    indicators_refresh()
    assert _components() == []
    assert value_weight(Kind.IP, 40) < 0.1 and value_weight(Kind.ASN, 40) == 0.0


def test_trap_university_lab_behind_one_nat_is_one_operator_by_its_org_not_by_the_nat():
    lab = [AccountFactory(org_id="org_lab", signup_ip="192.0.2.10") for _ in range(4)]
    # Strangers: each their own mail domain. (Faker's three example domains once gave 17 of them one
    # domain worn by nobody else, which with the NAT and sign-up address is what a course looks like.)
    names = [f"{chr(97 + i // 26)}{chr(97 + i % 26)}" for i in range(30)]  # letters: digits fold into patterns
    campus = [AccountFactory(signup_ip="192.0.2.10", email=f"{n}.student@{n}mail.example") for n in names]
    for account in [*lab, *campus]:
        UsageEventFactory(account=account, ip="192.0.2.10")
    _flag(lab[0], *campus[:5])
    indicators_refresh()
    assert _components() == [{a.pk for a in lab}]


def test_prompt_echo_finds_near_identical_prompts_close_in_time_only():
    base = 0x4B78C3FEE5E385B2
    acc = np.array([1, 2, 1, 2, 3], dtype=np.int64)
    ts = np.array([0, 30, 600, 650, 5000], dtype=np.int64)
    near = base ^ 0b101  # Hamming distance 2
    sim = np.array([base, near, base ^ (1 << 40), near ^ (1 << 40), base], dtype=np.uint64)
    assert day_echo_pairs(acc, ts, sim) == {(1, 2): 2}
    assert echo_weight(2) == 0.0 and 0.3 < echo_weight(5) < LINK_THRESHOLD


def test_signup_burst_needs_one_pattern_and_minutes_between_signups():
    t = START
    minutes = [0, 2, 5, 3 * 24 * 60]
    runs = burst_runs([(t + timedelta(minutes=m), n) for n, m in enumerate(minutes, start=1)])
    assert runs == [[1, 2, 3]]
    accounts = [
        AccountFactory(email=f"bot{100 + i}@mail.example", created_at=t + timedelta(minutes=i)) for i in range(3)
    ]
    indicators_refresh()
    signup_burst_refresh()
    assert AccountLink.objects.filter(signal=AccountLink.Signal.SIGNUP_BURST).count() == 2
    assert {a.pk for a in accounts} >= set(
        AccountLink.objects.values_list("account_a_id", flat=True).union(
            AccountLink.objects.values_list("account_b_id", flat=True)
        )
    )


def test_signup_bursts_read_the_patterns_from_the_e_mails_not_from_the_indicator_index():
    """So a run can compute them alongside the index it is rewriting (`services.detection_run`)."""
    bots = [
        AccountFactory(email=f"Bot{100 + i}@Mail.example", created_at=START + timedelta(minutes=i)) for i in range(3)
    ]
    AccountFactory(email="bot7@mail.example", created_at=None)  # no sign-up time: not in any burst
    for i in range(3):  # digits only (`#@mail.example`): everybody's pattern, never a burst
        AccountFactory(email=f"{4711 + i}@mail.example", created_at=START + timedelta(minutes=i))
    assert not AccountIndicator.objects.exists()
    assert signup_burst_refresh() == 2
    links = AccountLink.objects.filter(signal=AccountLink.Signal.SIGNUP_BURST)
    assert {link.detail["pattern"] for link in links} == {"bot#@mail.example"}
    assert {a for link in links for a in (link.account_a_id, link.account_b_id)} == {bot.pk for bot in bots}
    assert signup_burst_refresh([bots[0].pk]) == 2


def _burst_links() -> dict[tuple[int, int], tuple]:
    rows = AccountLink.objects.filter(signal=AccountLink.Signal.SIGNUP_BURST)
    return {(r.account_a_id, r.account_b_id): (r.pk, r.weight, r.count, r.detail) for r in rows}


def test_signup_burst_refresh_of_the_snapshot_accounts_leaves_what_a_full_recompute_would(
    django_assert_num_queries,
):
    def signup(email: str, minute: float):
        return AccountFactory(email=email, created_at=START + timedelta(minutes=minute))

    bots = [signup(f"bot{100 + i}@mail.example", i) for i in range(4)]
    trio = [signup(f"x{200 + i}@mail.example", 40 + i) for i in range(3)]
    users = [signup(f"user{300 + i}@mail.example", 10 * i) for i in range(2)]
    other = [signup(f"zed{400 + i}@mail.example", i) for i in range(3)]
    indicators_refresh()
    signup_burst_refresh()
    untouched = {pair: row for pair, row in _burst_links().items() if row[3]["pattern"] == "zed#@mail.example"}
    assert len(untouched) == 2

    # One of the trio changes its e-mail and sign-up time into the bots' burst, leaving a pair
    # behind (their link goes, found only through the old pattern); a newcomer makes a burst of the pair.
    trio[0].email, trio[0].created_at = "bot999@mail.example", START + timedelta(minutes=2.5)
    trio[0].save()
    newcomer = signup("user399@mail.example", 20)
    indicators_refresh()
    with django_assert_num_queries(0):
        assert signup_burst_refresh([]) == 0
    assert signup_burst_refresh([trio[0].pk, newcomer.pk]) == 4 + 2
    incremental = _burst_links()
    assert {row[3]["pattern"]: row[2] for row in incremental.values()} == {
        "bot#@mail.example": 5,
        "user#@mail.example": 3,
        "zed#@mail.example": 3,
    }
    assert {pair: incremental[pair] for pair in untouched} == untouched  # not rewritten
    assert {bots[0].pk, trio[0].pk, users[0].pk, newcomer.pk, other[0].pk} <= {a for pair in incremental for a in pair}

    with CaptureQueriesContext(connection) as queries:
        signup_burst_refresh()
    writes = [q["sql"] for q in queries.captured_queries if q["sql"].startswith(("INSERT", "UPDATE", "DELETE"))]
    assert writes == []
    assert _burst_links() == incremental


def test_sync_activity_links_lockstep_accounts_not_people_in_one_time_zone():
    lockstep = set(range(100, 100 + MIN_SHARED + 5))
    windows = {1: lockstep, 2: set(lockstep), 3: set(range(100, 100 + MIN_SHARED + 5, 3)) | set(range(500, 530))}
    pairs = {(link.a, link.b) for link in sync_pairs(windows)}
    assert pairs == {(1, 2)}


def test_links_replace_writes_only_the_difference():
    """A run leaves unchanged links alone (same row), rewrites changed ones and deletes vanished ones."""
    a, b, c, d = (AccountFactory() for _ in range(4))
    signal = AccountLink.Signal.SIGNUP_BURST
    links_replace(signal, [PairLink(a.pk, b.pk, signal, 0.4, 3, {"burst": 3}), PairLink(b.pk, c.pk, signal, 0.4, 3)])
    kept = AccountLink.objects.get(account_a=a, account_b=b)
    written = links_replace(
        signal,
        [PairLink(b.pk, a.pk, signal, 0.4, 3, {"burst": 3}), PairLink(c.pk, d.pk, signal, 0.4, 4, {"burst": 4})],
    )
    assert written == 2
    rows = {(link.account_a_id, link.account_b_id): link for link in AccountLink.objects.filter(signal=signal)}
    assert set(rows) == {(a.pk, b.pk), (c.pk, d.pk)}
    assert rows[(a.pk, b.pk)].pk == kept.pk
    assert rows[(c.pk, d.pk)].count == 4 and rows[(c.pk, d.pk)].detail == {"burst": 4}
    with CaptureQueriesContext(connection) as queries:
        links_replace(
            signal,
            [PairLink(a.pk, b.pk, signal, 0.4, 3, {"burst": 3}), PairLink(c.pk, d.pk, signal, 0.4, 4, {"burst": 4})],
        )
    writes = [q["sql"] for q in queries.captured_queries if q["sql"].startswith(("INSERT", "UPDATE", "DELETE"))]
    assert writes == []
    links_replace(signal, [PairLink(a.pk, b.pk, signal, 0.3, 3, {"burst": 3})])
    assert list(AccountLink.objects.filter(signal=signal).values_list("pk", "weight")) == [(kept.pk, 0.3)]


def test_trap_two_operators_renting_one_proxy_provider_share_a_few_exits_by_chance_and_stay_apart():
    """Each group rotates through 40 exits per account of a provider's thousands; the groups share 3."""
    groups = []
    for tag in ("a", "b"):
        # Own mail domains: Faker's few names and domains would now and then hand both operators one
        # e-mail pattern, a second tie the test is not about.
        members = [
            AccountFactory(payment_fingerprint=f"pf_provider_{tag}", email=f"head{i}@{tag}-mail.example")
            for i in range(3)
        ]
        for i, account in enumerate(members):
            for k in range(40):
                UsageEventFactory(account=account, ip=f"100.{64 + ord(tag)}.{i}.{k + 1}")
        groups.append(members)
    for k in range(3):  # chance: the same exit handed to one head of each operator
        UsageEventFactory(account=groups[0][0], ip=f"100.127.9.{k + 1}")
        UsageEventFactory(account=groups[1][0], ip=f"100.127.9.{k + 1}")
    for k in range(12):  # people with the same popular SDK on the same network
        UsageEventFactory(account=AccountFactory(email=f"person@home{k}.example"), ip=f"100.126.0.{k + 1}")
    _flag(groups[0][0], groups[1][0])
    features_refresh()
    indicators_refresh()
    assert sorted(_components(), key=min) == [{a.pk for a in g} for g in groups]


def test_a_pool_of_addresses_most_of_two_accounts_traffic_still_links_them():
    a, b = AccountFactory(), AccountFactory()
    for account in (a, b):
        for k in range(4):
            UsageEventFactory(account=account, ip=f"100.100.7.{k + 1}")
    _flag(a)
    features_refresh()
    indicators_refresh()
    assert _components() == [{a.pk, b.pk}]


def test_trap_a_person_on_an_operators_vpn_exits_stays_out_unless_more_ties_them():
    """A lone account whose every address is an exit that strangers use too does not join on them."""
    operator = [AccountFactory(payment_fingerprint="pf_operator") for _ in range(3)]
    person, head = AccountFactory(), AccountFactory()
    exits = [f"100.90.1.{k + 1}" for k in range(4)]
    strangers = [AccountFactory() for _ in range(6)]  # the VPN's other customers
    for i, account in enumerate([*operator, person, head, *strangers]):
        for k, ip in enumerate(exits):
            if account in strangers and k != i % 4:
                continue
            UsageEventFactory(account=account, ip=ip)
    for account in (*operator, head):  # the head shares the operator's rare tool harness too
        UsageEventFactory(account=account, tools_sha256="cd" * 32)
    _flag(operator[0])
    features_refresh()
    indicators_refresh()
    assert _components() == [{a.pk for a in (*operator, head)}]


def test_echo_pairs_do_not_depend_on_the_order_events_arrive_in():
    """A busy two-minute bucket holds more events than the neighbours compared: the pairs found must
    be the same whatever order the table returned the rows in."""
    from investigations.detection.signals.prompt_echo import day_echo_pairs

    rng = np.random.default_rng(7)
    template = np.uint64(0x5A5A_0F0F_3C3C_1234)
    # Ten accounts send one template; twenty others send unrelated prompts that share its low 16 bits.
    other = rng.integers(0, 2**48, size=20, dtype=np.uint64) << np.uint64(16) | np.uint64(0x1234)
    acc = np.arange(1, 31, dtype=np.int64).repeat(3)
    sim = np.concatenate([np.full(30, template, dtype=np.uint64), other.repeat(3)])
    ts = np.full(90, 1_770_000_000, dtype=np.int64) + rng.integers(0, 60, size=90)
    results = []
    for _ in range(5):
        order = rng.permutation(90)
        results.append(day_echo_pairs(acc[order], ts[order], sim[order]))
    assert all(result == results[0] for result in results)
    # Only template senders pair up, and their pairs chain all ten together.
    assert all(a <= 10 and b <= 10 for a, b in results[0])
    reached, frontier = {1}, [1]
    while frontier:
        node = frontier.pop()
        for pair in results[0]:
            if node in pair and (other := sum(pair) - node) not in reached:
                reached.add(other)
                frontier.append(other)
    assert reached == set(range(1, 11))


def test_deleting_an_account_removes_its_links_and_derived_rows():
    """Derived rows carry no database FK checks (migrations 0004, 0006): Django's cascade removes them."""
    a, b, c = (UsageEventFactory().account for _ in range(3))
    signal = AccountLink.Signal.SIGNUP_BURST
    links_replace(signal, [PairLink(a.pk, b.pk, signal, 0.4, 3), PairLink(b.pk, c.pk, signal, 0.4, 3)])
    features_refresh(account_ids=[a.pk, b.pk, c.pk])
    b.delete()
    assert not AccountLink.objects.exists()
    assert set(AccountFeatures.objects.values_list("account_id", flat=True)) == {a.pk, c.pk}


def _trait_world(pattern_wearers: list[int]) -> UnionFind:
    """Accounts 1-5 are one cluster, 9 a lone account; 9 shares one exit and an e-mail pattern with them."""
    uf = UnionFind()
    for account in (2, 3, 4, 5):
        uf.union(1, account)
    uf.add_all([9])
    members = {100: [1, 2, 3, 4, 5, 9], 200: pattern_wearers}
    kinds = {100: Kind.IP, 200: Kind.EMAIL_PATTERN}
    _trait_pass(uf, members, kinds, {})
    return uf


def test_trap_a_value_worn_by_a_handful_is_no_trait_of_the_cluster_wearing_most_of_it():
    """With 3 or 4 wearers, one outsider more or less moves the share across TRAIT_SHARE: noise, and the
    shared-trace stage has already weighed exactly these values pair by pair. From TRAIT_MIN_ACCOUNTS on,
    a value worn mostly by one cluster is its trait (here with the exit: an address trace)."""
    assert _trait_world([1, 2, 3, 9]).find(9) == 9  # a name-like pattern on 3 heads and a stranger
    joined = _trait_world([1, 2, 3, 4, 9])
    assert joined.find(9) == joined.find(1)
