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
from dataclasses import dataclass

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
