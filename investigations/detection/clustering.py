"""Group accounts into operators: thresholded, rarity-weighted link graph, then connected components.

Why this algorithm
------------------
The literature on coordinated accounts offers two families. SynchroTrap (Cao
et al., CCS 2014) computes pairwise similarity of accounts' timestamped actions,
keeps pairs above a threshold and takes connected components (single-linkage
clustering). CopyCatch (Beutel et al., WWW 2013) searches the account-page
bipartite graph for near-bicliques acting in lockstep. Later work on
coordinated inauthentic behaviour (e.g. Pacheco et al., ICWSM 2021; Nizzoli et
al. 2021) uses the same recipe: a weighted co-occurrence graph over shared
"traces", edge weights discounted by how common a trace is (IDF-like), a
threshold, then components or community detection.

Our evidence is mostly *shared identifiers* (cards, org ids, system prompts,
proxy IPs) plus a few lockstep signals, and each link must be explainable on
the case page. So we follow the SynchroTrap/CIB recipe, in three stages:

1. Identity stage: values that belong to one operator whatever the count (a
   payment instrument, an organisation id) union accounts directly
   (hyperedges, no pair enumeration: a card shared by 2,000 accounts costs
   2,000 unions, not 2 million pairs).
2. Shared-trace stage: every other value votes for each pair of identity
   *groups* sharing it with `value_weight(kind, groups)` (strength x rarity
   counted in distinct groups), behavioural links add their strongest weight
   per signal, and group pairs whose summed evidence reaches `LINK_THRESHOLD`
   are joined. No single non-identity value reaches the threshold alone (it
   needs corroboration), values shared by more than `PAIR_CAP` groups vote
   zero, and values below `MIN_VOTE` do not vote at all: that is what stops a
   VPN exit, a big cloud ASN or a popular SDK user agent from chaining
   strangers. A prompt or tool schema shared by more than a few groups (a
   public toolkit's defaults) only corroborates other evidence.
3. Trait stage (second order): a value worn almost only by accounts that
   already sit in multi-account clusters is a trait of those operators, even
   when thousands wear it (a lab's custom user agent, its proxy pool). Trait
   votes may merge clusters only when they include an address or sign-up
   trace: distinct operators running the same toolkit share content, not
   infrastructure.

Throughout, groups that declare different organisation ids need `ORG_GUARD`
times the threshold: two enterprises running the same public pipeline
template echo each other's prompts, yet are two customers.

Connected components (not modularity-based community detection) because they
are deterministic, incremental-friendly (a new link can only grow or merge
components, so case ids stay stable) and linear in the number of links; the
chaining risk of single linkage is handled by the rarity weights and the
threshold rather than by the clustering step. CopyCatch's lockstep idea
survives in the behavioural signals (`signals.prompt_echo`, `signals.sync_activity`).
"""

from __future__ import annotations

import gc
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import chain, combinations

from django.db import connection

from accounts.models import Account
from investigations.detection.models import AccountFeatures, AccountIndicator, AccountLink, Indicator
from investigations.detection.signals.shared_values import IDENTITY_KINDS, RULES, value_communities, value_weight

LINK_THRESHOLD = 0.5
# Above this many accounts a non-identity value is too common to read at all.
ACCOUNT_CAP = 5000
# Above this many distinct groups a value votes nothing (and would cost groups^2 pairs).
PAIR_CAP = 150
# A shared value weighing less than this is background (a popular UA, a busy VPN exit, a free-mail
# domain): summing many of them would chain strangers, so they do not vote at all.
MIN_VOTE = 0.1
# Groups declaring different organisation ids need this many times the threshold to merge.
ORG_GUARD = 2.0
# System prompts and tool schemas: the same public toolkit gives unrelated operators the same ones,
# so beyond RARE_CONTENT_GROUPS groups they corroborate other evidence but never link on their own.
# Kinds that restate one fact (signing up from 203.0.113.7 implies its /24): counted once per pair.
SAME_FACT = {Indicator.Kind.SIGNUP_IP: "signup", Indicator.Kind.SIGNUP_NET: "signup"}
CONTENT_KINDS = frozenset({Indicator.Kind.SYSTEM_PROMPT, Indicator.Kind.TOOLS})
RARE_CONTENT_GROUPS = 3
# What one operator's clusters share and a toolkit does not hand out: addresses and sign-up traces.
# (User agents, TLS fingerprints and ASNs come with the toolkit or the cloud, like content.)
INFRASTRUCTURE_KINDS = frozenset(
    {Indicator.Kind.IP, Indicator.Kind.SIGNUP_IP, Indicator.Kind.SIGNUP_NET, Indicator.Kind.EMAIL_PATTERN}
)
# Shared client addresses vote in full once they are this share of the smaller group's addresses.
IP_OVERLAP = 0.5
# What ties a person to a group beyond shared exits: a sign-up trace or rare content. (A user agent,
# TLS fingerprint, ASN or mail domain comes with the VPN, the cloud, the SDK or the mail provider.)
BEYOND_EXIT_KINDS = frozenset(
    {Indicator.Kind.SIGNUP_IP, Indicator.Kind.SIGNUP_NET, Indicator.Kind.EMAIL_PATTERN, *CONTENT_KINDS}
)
# Stage 3: a value is a trait of clusters when at least this share of its accounts sit in clusters.
TRAIT_SHARE = 0.6
# Below this many wearers a share is noise (one outsider more or less moves 3 of 4 across it), and
# stage 2 has already weighed such a value pair by pair: counting it again as a trait let a person
# whose name-like e-mail pattern and one residential exit matched an operator's heads join it.
TRAIT_MIN_ACCOUNTS = 5
TRAIT_ROUNDS = 3


class UnionFind:
    """Disjoint sets over account ids, with path halving and union by size."""

    def __init__(self) -> None:
        self.parent: dict[int, int] = {}
        self.size: dict[int, int] = {}

    def find(self, x: int) -> int:
        parent = self.parent
        if x not in parent:
            parent[x] = x
            self.size[x] = 1
            return x
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def add_all(self, items) -> None:
        """Register items as their own sets (those not seen yet), as `find` does one at a time."""
        for x in items:
            if x not in self.parent:
                self.parent[x] = x
                self.size[x] = 1

    def roots(self) -> dict[int, int]:
        """Every item's root, in one pass: a snapshot for loops that read many roots between unions.

        Compresses every path on the way (roots and set sizes stay what they were), so the next
        snapshot, and `find`, take one step per item.
        """
        parent = self.parent
        root_of: dict[int, int] = {}
        for x, up in parent.items():
            root = up
            while parent[root] != root:
                root = parent[root]
            if up != root:
                parent[x] = root
            root_of[x] = root
        return root_of

    def union(self, a: int, b: int) -> int:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return ra
        if self.size[ra] < self.size[rb]:
            ra, rb = rb, ra
        self.parent[rb] = ra
        self.size[ra] += self.size[rb]
        return ra


@dataclass
class Clustering:
    """The result of one clustering pass, with what evidence needs afterwards."""

    components: list[list[int]]
    flagged: set[int]
    value_members: dict[int, list[int]]
    value_kind: dict[int, str]
    value_total: dict[int, int]
    value_groups: dict[int, int]
    account_values: dict[int, list[int]]
    links: dict[int, list[tuple[int, str, float, int]]] = field(default_factory=dict)

    def weight_of(self, indicator_id: int) -> float:
        return value_weight(self.value_kind[indicator_id], max(2, self.value_groups.get(indicator_id, 2)))


def _load_values() -> tuple[dict[int, list[int]], dict[int, str], dict[int, int]]:
    """Members, kind and total count of every value shared by 2+ accounts (and not hopelessly common)."""
    ai, ind = AccountIndicator._meta.db_table, Indicator._meta.db_table
    identity = ",".join(f"'{kind}'" for kind in sorted(IDENTITY_KINDS))
    known = ",".join(f"'{kind}'" for kind in sorted(RULES))
    shared_values = (
        f"SELECT id, kind, account_count FROM {ind} WHERE account_count >= 2 AND kind IN ({known}) "
        f"AND (kind IN ({identity}) OR account_count <= %s)"
    )
    with connection.cursor() as cursor:
        # The values' kinds and counts once each, not repeated on each of their 470,000 member rows.
        cursor.execute(shared_values, [ACCOUNT_CAP])
        facts = {indicator_id: (kind, total) for indicator_id, kind, total in cursor.fetchall()}
        cursor.execute(
            f"SELECT indicator_id, account_id FROM {ai} WHERE indicator_id IN (SELECT id FROM ({shared_values}) v) "
            # A fixed order: later stages break ties (values of equal size) in load order, and an
            # unordered (parallel) scan returns rows in a different order from run to run.
            "ORDER BY indicator_id, account_id",
            [ACCOUNT_CAP],
        )
        rows = cursor.fetchall()
    members: dict[int, list[int]] = defaultdict(list)
    for indicator_id, account_id in rows:
        members[indicator_id].append(account_id)
    kinds = {indicator_id: facts[indicator_id][0] for indicator_id in members}
    totals = {indicator_id: facts[indicator_id][1] for indicator_id in members}
    return members, kinds, totals


def _load_links() -> dict[int, list[tuple[int, str, float, int]]]:
    """Behavioural links by account: [(other account, signal, weight, count)]."""
    # A raw cursor: ~200k rows through the ORM's iterator cost more than the rest of the load.
    links: dict[int, list[tuple[int, str, float, int]]] = defaultdict(list)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT account_a_id, account_b_id, signal, weight, count FROM {AccountLink._meta.db_table}")
        while rows := cursor.fetchmany(50_000):
            for a, b, signal, weight, count in rows:
                links[a].append((b, signal, weight, count))
                links[b].append((a, signal, weight, count))
    return links


def _load_distinct_ips() -> dict[int, int]:
    """Account -> how many distinct client addresses it used (a raw cursor, like the loads above)."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT account_id, distinct_ips FROM {AccountFeatures._meta.db_table}")
        return dict(cursor.fetchall())


def _org_guard(uf: UnionFind, members: dict[int, list[int]], kinds: dict[int, str]) -> dict[int, set[int]]:
    """Stage-1 root -> the organisation indicators its accounts declare."""
    orgs: dict[int, set[int]] = defaultdict(set)
    for indicator_id, accounts in members.items():
        if kinds[indicator_id] == Indicator.Kind.ORG:
            orgs[uf.find(accounts[0])].add(indicator_id)
    return orgs


def _needed(orgs: dict[int, set[int]], ra: int, rb: int) -> float:
    """Two groups that declare different organisations are two customers unless the evidence is overwhelming."""
    if orgs.get(ra) and orgs.get(rb) and not orgs[ra] & orgs[rb]:
        return ORG_GUARD * LINK_THRESHOLD
    return LINK_THRESHOLD


def _join_votes(uf: UnionFind, votes: dict[tuple[int, int], float], orgs: dict[int, set[int]]) -> None:
    for (ra, rb), total in votes.items():
        if total >= _needed(orgs, ra, rb):
            uf.union(ra, rb)


def _trait_pass(uf: UnionFind, members: dict[int, list[int]], kinds: dict[int, str], orgs: dict[int, set[int]]) -> None:
    """One round of the trait stage (see the module docstring): votes from values worn mostly by clusters."""
    # Clusters don't change until the votes are joined at the end: look every account's root up once
    # (stage 2 registered every wearer).
    root_of = uf.roots()
    size = uf.size  # of every root: its cluster's account count
    in_clusters = {a for a, root in root_of.items() if size[root] >= 2}
    trait_votes: dict[tuple[int, int, str], float] = {}
    for indicator_id, accounts in members.items():
        kind = kinds[indicator_id]
        if kind in IDENTITY_KINDS or len(accounts) < TRAIT_MIN_ACCOUNTS:
            continue
        # Most values are worn mostly by lone accounts: the share (a value's wearers are distinct
        # accounts) rules them out before their clusters are counted.
        share = len(in_clusters.intersection(accounts)) / len(accounts)
        if share < TRAIT_SHARE:
            continue
        by_root = Counter(map(root_of.__getitem__, accounts))
        if len(by_root) < 2:
            continue
        weight = RULES[kind].strength * share
        roots = sorted(by_root, key=lambda r: (-by_root[r], r))
        anchors = [r for r in roots if size[r] >= 2]
        # Every other wearer (cluster or lone account) votes to join the cluster wearing it most: a star,
        # linear in the wearers, so a lab's 400 card groups sharing its user agent cost 400 votes, not 80,000.
        for ra, rb in ((r, anchors[0]) for r in roots if r != anchors[0]):
            key = (min(ra, rb), max(ra, rb), kind)
            trait_votes[key] = max(trait_votes.get(key, 0.0), weight)
    second: dict[tuple[int, int], float] = defaultdict(float)
    infrastructure: set[tuple[int, int]] = set()
    for (ra, rb, kind), weight in trait_votes.items():
        second[(ra, rb)] += weight
        if kind in INFRASTRUCTURE_KINDS and weight >= MIN_VOTE:
            infrastructure.add((ra, rb))
    # Content alone does not merge clusters: distinct operators run the same public harvesting
    # toolkit (same prompts, same tool schema); one operator's clusters also share infrastructure.
    _join_votes(uf, {pair: total for pair, total in second.items() if pair in infrastructure}, orgs)


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector (reference counting still frees everything).

    A pass builds millions of small lists, tuples and dict entries, none in a reference cycle; the
    collector would otherwise rescan them all again and again (a quarter of the pass on 200k accounts).
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@_gc_paused()
def cluster_accounts() -> Clustering:
    """One clustering pass over the whole evidence graph; components that hold a flagged account."""
    members, kinds, totals = _load_values()
    links = _load_links()
    uf = UnionFind()

    # Stage 1: identity values and strong behavioural links join accounts outright.
    for indicator_id, accounts in members.items():
        if kinds[indicator_id] in IDENTITY_KINDS:
            first = accounts[0]
            for other in accounts[1:]:
                uf.union(first, other)
    for a, peers in links.items():
        for b, _signal, weight, _count in peers:
            if weight >= LINK_THRESHOLD and a < b:
                uf.union(a, b)
    orgs = _org_guard(uf, members, kinds)

    # Stage 2: shared traces vote per pair of identity groups, weighted by rarity among groups.
    # Distinct values add up (ten shared proxy IPs are ten observations); many behavioural links
    # between the same two groups count once per signal, at their strongest.
    votes: dict[tuple[int, int], float] = defaultdict(float)
    backed: set[tuple[int, int]] = set()
    once: dict[tuple[int, int, str], float] = {}
    groups_of_value: dict[int, int] = {}
    ips_of: Counter[int] = Counter()
    addresses: Counter[int] = Counter()
    ip_votes: dict[tuple[int, int], float] = defaultdict(float)
    ip_shared: Counter[tuple[int, int]] = Counter()
    # Pairs with evidence other than shared client addresses (see the lone-account rule below).
    beyond_ips: set[tuple[int, int]] = set()
    own_address: set[tuple[int, int]] = set()  # pairs sharing an address that no third group uses
    uf.add_all(chain.from_iterable(members.values()))
    root_of = uf.roots()  # stage 1's groups, fixed until the votes are joined
    for indicator_id, accounts in members.items():
        kind = kinds[indicator_id]
        if kind in IDENTITY_KINDS:
            continue
        roots = set(map(root_of.__getitem__, accounts))
        groups_of_value[indicator_id] = len(roots)
        if kind == Indicator.Kind.IP:
            for root in roots:
                ips_of[root] += 1
        if len(roots) < 2 or len(roots) > PAIR_CAP:
            continue
        weight = value_weight(kind, len(roots))
        if weight < MIN_VOTE:
            continue
        corroborating = kind not in CONTENT_KINDS or len(roots) <= RARE_CONTENT_GROUPS
        family = SAME_FACT.get(kind)
        for pair in combinations(sorted(roots), 2):
            if kind == Indicator.Kind.IP:
                ip_votes[pair] += weight
                ip_shared[pair] += 1
                if len(roots) == 2:
                    own_address.add(pair)
                continue
            if kind in BEYOND_EXIT_KINDS and corroborating:
                beyond_ips.add(pair)
            if family is None:
                votes[pair] += weight
            else:
                key = (pair[0], pair[1], family)
                once[key] = max(once.get(key, 0.0), weight)
            if corroborating:
                backed.add(pair)
    for (ra, rb, _family), weight in once.items():
        votes[(ra, rb)] += weight
    # Shared addresses count in proportion to how much of the smaller address set they are: groups
    # rotating through one rented proxy provider's thousands of exits share a few by chance (two
    # operators as often as two heads of one); one operator's own pool, NAT or office is most of it.
    # Many shared addresses are one observation of one pool: together they weigh at most the threshold.
    # A group's address count is its accounts' distinct client IPs (most are worn by no one else).
    if ip_votes:
        distinct = _load_distinct_ips()
        for account, root in root_of.items():
            addresses[root] += distinct.get(account, 0)
    for pair, weight in ip_votes.items():
        smaller = max(1, min(max(addresses[r], ips_of[r]) for r in pair))
        votes[pair] += min(weight, LINK_THRESHOLD) * min(1.0, ip_shared[pair] / (IP_OVERLAP * smaller))
    strongest: dict[tuple[int, int, str], float] = {}
    for a, peers in links.items():
        for b, signal, weight, _count in peers:
            if 0.0 < weight < LINK_THRESHOLD and a < b:
                ra, rb = uf.find(a), uf.find(b)
                if ra != rb:
                    key = (min(ra, rb), max(ra, rb), signal)
                    strongest[key] = max(strongest.get(key, 0.0), weight)
    for (ra, rb, signal), weight in strongest.items():
        pair = (ra, rb)
        votes[pair] += weight
        beyond_ips.add(pair)
        # Echoed prompts are content too: two operators replaying one public prompt set collide.
        if signal != AccountLink.Signal.PROMPT_ECHO:
            backed.add(pair)
    # A lone account whose only tie to a group is exits that strangers use too is a person on the
    # same VPN or commercial proxy as often as a head of the operator: it needs one more kind of
    # evidence (a sign-up trace, an echoed prompt, a rare harness...) or an address no one else
    # uses. Groups of two or more accounts still link on a large share of one address pool: an
    # operator's own proxies, NAT or office.
    for pair in ip_votes:
        lone = min(uf.size[pair[0]], uf.size[pair[1]]) < 2
        if not lone or pair in beyond_ips or pair in own_address:
            backed.add(pair)
        else:
            backed.discard(pair)
    # Content shared by more than a few groups (a toolkit's default prompt) only adds to other evidence.
    _join_votes(uf, {pair: total for pair, total in votes.items() if pair in backed}, orgs)

    # Stage 2b: most wearers of one value tied together by behaviour (even weak links) are one
    # operator, however many card groups they span (`shared_values.value_communities`).
    for group in value_communities(members, kinds, links, uf.find):
        for other in group[1:]:
            ra, rb = uf.find(group[0]), uf.find(other)
            if ra != rb and _needed(orgs, ra, rb) <= LINK_THRESHOLD:
                uf.union(ra, rb)

    # Stage 3 (second order): a value worn (almost) only by accounts that already sit in
    # multi-account clusters is a trait of those operators, however many accounts wear it: a
    # custom user agent on 150 accounts of one lab's sign-up bursts, a prompt variant spread over
    # its card groups. A popular SDK user agent or a VPN exit is worn mostly by lone accounts and
    # carries nothing. Each kind counts once per pair, at its strongest; the org guard still holds.
    # Two rounds: the first merges one operator's sub-clusters, so that in the second the lone
    # accounts wearing its traits all vote for the same (now single) cluster.
    for _round in range(TRAIT_ROUNDS):
        _trait_pass(uf, members, kinds, orgs)

    flagged = set(Account.objects.filter(flagged_at__isnull=False).values_list("id", flat=True))
    by_root: dict[int, list[int]] = defaultdict(list)
    for account, root in uf.roots().items():
        by_root[root].append(account)
    components = [sorted(accts) for accts in by_root.values() if len(accts) >= 2 and flagged.intersection(accts)]
    components.sort(key=lambda accts: accts[0])

    account_values: dict[int, list[int]] = defaultdict(list)
    for indicator_id, accounts in members.items():
        for a in accounts:
            account_values[a].append(indicator_id)
    return Clustering(
        components=components,
        flagged=flagged,
        value_members=dict(members),
        value_kind=kinds,
        value_total=totals,
        value_groups=groups_of_value,
        account_values=dict(account_values),
        links=dict(links),
    )
