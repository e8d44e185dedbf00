"""Shared indicator values: how much sharing one value says "same operator".

Two rules, from DESIGN.md ("weight by how rare a value is"):

- Identity values (a payment instrument, an organisation id) belong to one
  operator whoever shares them: sharing one is conclusive at any count.
- Every other value is weighted by its kind's strength times its rarity (and
  stays below the clustering threshold on its own: it needs corroboration);
  rarity is counted in *distinct operators-so-far* (identity groups), not in
  accounts. A lab's system prompt on 2,000 accounts bought with 40 cards is
  shared by 40 groups; a public template or a VPN exit used by hundreds of
  strangers is shared by hundreds of groups and weighs nothing. Counting
  accounts would make the biggest attacker look like the most common value.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import chain

from investigations.detection.models import Indicator

Kind = Indicator.Kind


@dataclass(frozen=True)
class KindRule:
    """How one kind of value links accounts.

    `strength`: weight of a value shared by just two groups. `common_at`: the
    number of distinct groups at which sharing the value says nothing any more.
    """

    strength: float
    identity: bool = False
    common_at: int = 0


RULES: dict[str, KindRule] = {
    Kind.PAYMENT: KindRule(1.0, identity=True),
    Kind.ORG: KindRule(1.0, identity=True),
    # No single non-identity value reaches the clustering threshold (0.5) on its own: a public
    # agent framework's tool schema or a popular prompt template is shared by unrelated teams, so
    # content hashes need a second, independent kind of evidence (proxies, sign-ups, lockstep).
    Kind.SYSTEM_PROMPT: KindRule(0.45, common_at=150),
    Kind.TOOLS: KindRule(0.4, common_at=150),
    Kind.SIGNUP_IP: KindRule(0.35, common_at=200),
    Kind.IP: KindRule(0.3, common_at=100),
    Kind.EMAIL_PATTERN: KindRule(0.35, common_at=100),
    Kind.JA4: KindRule(0.25, common_at=100),
    Kind.USER_AGENT: KindRule(0.25, common_at=100),
    Kind.SIGNUP_NET: KindRule(0.15, common_at=100),
    Kind.EMAIL_DOMAIN: KindRule(0.2, common_at=200),
    Kind.ASN: KindRule(0.05, common_at=30),
}
IDENTITY_KINDS = frozenset(kind for kind, rule in RULES.items() if rule.identity)


def value_weight(kind: str, groups: int) -> float:
    """Weight 0-1 of a value of `kind` shared by `groups` distinct operators-so-far.

    Log-scaled rarity: 2 groups keep ~90% of the kind's strength, `common_at`
    groups keep none, so a VPN exit shared by hundreds of strangers adds ~0.
    """
    rule = RULES[kind]
    if rule.identity:
        return rule.strength
    if groups < 2 or groups >= rule.common_at:
        return 0.0
    return rule.strength * (1.0 - math.log(groups) / math.log(rule.common_at))


def short_value(kind: str, value: str) -> str:
    """Hashes are long; show their first 12 characters as the case page does."""
    if kind in (Kind.SYSTEM_PROMPT, Kind.TOOLS) and len(value) > 12:
        return value[:12] + "…"
    return value


def evidence_text(kind: str, value: str, in_case: int, total: int) -> str:
    """'shares payment fingerprint pf_9c1e55 with 19 accounts of this case (21 in all)'."""
    label = Indicator.Kind(kind).label
    shown = short_value(kind, value)
    others = in_case - 1
    named = f"{label} {shown}" if shown else f"the same {label}"
    text = f"shares {named} with {others} other account{'s' if others != 1 else ''} of this case"
    if total > in_case:
        text += f" ({total} accounts in all)"
    return text


# Value communities: an operator's own harness, system prompt or proxy pool is worn by all of its
# accounts, so across hundreds of card groups it looks as common as a public toolkit's defaults or a
# VPN exit. What sets the two apart is what the wearers do together: one operator's heads echo each
# other's prompts, run in lockstep or sign up in one burst; strangers behind one VPN exit or running
# one public toolkit do none of that. So a value whose wearers are, for the most part
# (COMMUNITY_SHARE), tied to each other by behavioural links (even links too weak to count alone: one
# or two echoed prompts) is a trait of one operator, and the tied wearers (at least COMMUNITY_MIN)
# are joined. A lone account (no cluster yet) needs ties to LONE_TIES wearers. Ties are counted between
# groups: two groups join when the links between them number at least TIE_SHARE of the smaller one,
# so a chance echo between two people behind a busy exit, or between two operators replaying one
# public benchmark, does not merge them. Only kinds one operator owns are read: networks, sign-ups,
# content; not AS numbers, user agents, TLS stacks or e-mail domains, which whole populations share.
COMMUNITY_MIN = 3
COMMUNITY_SHARE = 0.5
TIE_SHARE = 0.2
DENSITY_SHARE = 0.25
LONE_TIES = 3
COMMUNITY_KINDS = frozenset(
    {Kind.SYSTEM_PROMPT, Kind.TOOLS, Kind.IP, Kind.SIGNUP_IP, Kind.SIGNUP_NET, Kind.EMAIL_PATTERN}
)


def _as_dense(ra: int, rb: int, cross: int, accounts, group, find, links, wearers) -> bool:
    """Are two clusters tied to each other about as densely as each is inside (DENSITY_SHARE)?

    Two operators replaying one public prompt set echo each other now and then; one operator's
    card groups echo each other as often as they echo themselves.
    """
    side = {a: find(group[a]) for a in accounts}
    inside = {ra: 0, rb: 0}
    count = {ra: 0, rb: 0}
    for a, root in side.items():
        if root in count:
            count[root] += 1
            for b, _signal, _weight, _count in links.get(a, ()):
                if a < b and b in wearers and side.get(b) == root:
                    inside[root] += 1
    density = {r: inside[r] / max(1, count[r] * (count[r] - 1) / 2) for r in (ra, rb)}
    cross_density = cross / max(1, count[ra] * count[rb])
    return cross_density >= DENSITY_SHARE * min(density.values())


def _tied_groups(accounts: list[int], roots: list[int], links, cluster_size: dict[int, int]) -> list[list[int]]:
    """Merge the wearers' groups (their current clusters) along behavioural links, densest ties first.

    Two clusters join when the ties between them reach TIE_SHARE of the smaller *cluster* (not of
    its wearers of this value): two operators renting exits from one proxy provider share many
    addresses, each worn by a few heads of each, and a chance echo between two of those heads must
    not weigh like a tie between two lone accounts.
    """
    wearers = set(accounts)
    group = dict(zip(accounts, roots, strict=True))
    size = {root: cluster_size.get(root, 1) for root in roots}
    parent = {r: r for r in size}

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    # Links inside the biggest group change nothing: read only the others' links (an operator's pool
    # address worn by thousands of its accounts costs the few outside its cluster, not all of them).
    biggest = max(size, key=size.__getitem__)
    pairs = {
        (a, b) if a < b else (b, a)
        for a, root in zip(accounts, roots, strict=True)
        if root != biggest
        for b, _signal, _weight, _count in links.get(a, ())
        if b in wearers
    }
    # A lone account needs LONE_TIES tied partners (a k-core): a chance echo or two of an everyday
    # prompt with a big operator's cover traffic ties no one in.
    while True:
        degree = Counter(chain.from_iterable(pairs))
        loose = {x for x, d in degree.items() if d < LONE_TIES and size[group[x]] == 1}
        if not loose:
            break
        pairs = {(a, b) for a, b in pairs if a not in loose and b not in loose}
    while True:
        ties: dict[tuple[int, int], int] = {}
        for a, b in pairs:
            ra, rb = find(group[a]), find(group[b])
            if ra != rb:
                key = (ra, rb) if ra < rb else (rb, ra)
                ties[key] = ties.get(key, 0) + 1
        merged = False
        for (ra, rb), count in sorted(ties.items(), key=lambda item: -item[1]):
            ra, rb = find(ra), find(rb)
            if ra == rb or count < max(1.0, TIE_SHARE * min(size[ra], size[rb])):
                continue
            if min(size[ra], size[rb]) >= 2 and not _as_dense(ra, rb, count, accounts, group, find, links, wearers):
                continue
            parent[rb] = ra
            size[ra] += size[rb]
            merged = True
        if not merged:
            break
    merged_into = {root: find(root) for root in size}
    out: dict[int, list[int]] = defaultdict(list)
    for a, root in zip(accounts, roots, strict=True):
        out[merged_into[root]].append(a)
    return list(out.values())


# Co-worn traits: a lab whose questions are too common to echo (the whole class sends the same
# homework) is still tied by what its accounts wear together: one NAT, one sign-up address, one
# course prompt, one campus domain. A value's wearers who also wear at least CO_WORN_FACTS other
# facts specific to them (each worn by most of them, and mostly by them) form a near-biclique, the
# CopyCatch shape; strangers behind a VPN exit share the exit and at most the sign-up through it.
CO_WORN_FACTS = 2
FACT_OF = {
    Kind.IP: "address",
    Kind.SIGNUP_IP: "signup",
    Kind.SIGNUP_NET: "signup",
    Kind.SYSTEM_PROMPT: "prompt",
    Kind.TOOLS: "tools",
    Kind.EMAIL_PATTERN: "email",
    Kind.EMAIL_DOMAIN: "email",
}


def _co_worn(value: int, accounts: list[int], members, kinds, values_of) -> list[int]:
    """The wearers of `value` that also wear CO_WORN_FACTS other facts specific to its wearers."""
    wearers = set(accounts)
    counts = Counter(u for a in accounts for u in values_of.get(a, ()) if u != value)
    own = FACT_OF[kinds[value]]
    specific = {
        u
        for u, n in counts.items()
        if FACT_OF[kinds[u]] != own and n >= COMMUNITY_SHARE * len(accounts) and n >= COMMUNITY_SHARE * len(members[u])
    }
    if len({FACT_OF[kinds[u]] for u in specific}) < CO_WORN_FACTS:
        return []
    return [
        a for a in wearers if len({FACT_OF[kinds[u]] for u in values_of.get(a, ()) if u in specific}) >= CO_WORN_FACTS
    ]


def value_communities(
    members: dict[int, list[int]],
    kinds: dict[int, str],
    links: dict[int, list[tuple[int, str, float, int]]],
    find,
) -> Iterator[list[int]]:
    """Groups of accounts to join: wearers of one value tied to each other by behaviour or by co-worn traits.

    `members`: value -> accounts wearing it; `kinds`: value -> kind; `links`: account ->
    [(other account, signal, weight, count)], every stored behavioural link whatever its weight;
    `find`: account -> its current cluster root (wearers in one cluster start as one group).
    A generator, most-worn values first: the caller joins each group before the next value is
    read, so once an operator's pool has joined its card groups, its other pool addresses find
    them in one cluster and cost next to nothing.
    """
    values = [v for v, accounts in members.items() if kinds[v] in COMMUNITY_KINDS and len(accounts) >= COMMUNITY_MIN]
    values.sort(key=lambda v: -len(members[v]))
    values_of: dict[int, list[int]] = defaultdict(list)
    for v, accounts in members.items():
        if kinds[v] in FACT_OF:
            for a in accounts:
                values_of[a].append(v)
    # Cluster sizes, kept up to date as the caller joins what this yields.
    cluster_size = Counter(map(find, set(chain.from_iterable(members.values()))))
    for value in values:
        accounts = members[value]
        need = max(COMMUNITY_MIN, COMMUNITY_SHARE * len(accounts))
        roots = list(map(find, accounts))
        if len(set(roots)) == 1:
            continue  # already one cluster: nothing to add
        best = max(_tied_groups(accounts, roots, links, cluster_size), key=len)
        if len(best) < len(accounts):
            co_worn = _co_worn(value, accounts, members, kinds, values_of)
            if len(co_worn) >= need:
                best = sorted(set(co_worn) | set(best)) if len(best) >= need else co_worn
        joined = {find(a) for a in best}
        if len(best) >= need and len(joined) > 1:
            total = sum(cluster_size.get(r, 1) for r in joined)
            yield sorted(best)
            cluster_size[find(best[0])] = total
