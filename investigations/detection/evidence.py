"""Why each account is in its case: the shared values and behavioural links, as evidence items.

Each item is `{"signal", "value", "peers", "weight", "text"}` (the shape
`CaseMembership.evidence` documents), strongest first.
"""

from __future__ import annotations

from collections import Counter, defaultdict

from investigations.detection.clustering import MIN_VOTE, Clustering
from investigations.detection.models import AccountLink, Indicator
from investigations.detection.signals.shared_values import evidence_text, short_value

MAX_ITEMS = 8
_HIDDEN_VALUE_KINDS = {Indicator.Kind.EMAIL_PATTERN}


def indicator_values(ids: set[int]) -> dict[int, str]:
    """Indicator id -> value, fetched in chunks."""
    values: dict[int, str] = {}
    ordered = sorted(ids)
    for start in range(0, len(ordered), 2000):
        chunk = ordered[start : start + 2000]
        values.update(Indicator.objects.filter(id__in=chunk).values_list("id", "value"))
    return values


def _link_text(signal: str, peers: int, count: int) -> str:
    others = f"{peers} other account{'s' if peers != 1 else ''}"
    if signal == AccountLink.Signal.PROMPT_ECHO:
        return f"{count} of its prompts sent within 2 min of near-identical prompts by {others}"
    if signal == AccountLink.Signal.SIGNUP_BURST:
        return f"signed up in a burst with one e-mail pattern together with {others}"
    return f"active in the same minutes as {others}, again and again"


def case_evidence(
    clustering: Clustering, members: list[int], values: dict[int, str]
) -> dict[int, tuple[list[dict], float]]:
    """{account: (evidence items, link strength 0..1)} for the accounts of one case."""
    in_case = set(members)
    counts: Counter[int] = Counter()
    for account in members:
        counts.update(clustering.account_values.get(account, ()))
    # An item depends only on the value and how many members share it: built once per case, not per wearer.
    shared_items: dict[int, dict] = {}
    for indicator_id, shared in counts.items():
        weight = clustering.weight_of(indicator_id)
        if shared < 2 or weight < MIN_VOTE:
            continue
        kind = clustering.value_kind[indicator_id]
        value = "" if kind in _HIDDEN_VALUE_KINDS else values.get(indicator_id, "")
        total = clustering.value_total[indicator_id]
        shared_items[indicator_id] = {
            "signal": kind,
            "value": value,
            "peers": shared - 1,
            "weight": round(weight, 3),
            "text": evidence_text(kind, short_value(kind, value) if value else "", shared, total),
        }
    result: dict[int, tuple[list[dict], float]] = {}
    for account in members:
        items = [
            shared_items[indicator_id]
            for indicator_id in clustering.account_values.get(account, ())
            if indicator_id in shared_items
        ]
        per_signal: dict[str, list[tuple[int, float, int]]] = defaultdict(list)
        for other, signal, weight, count in clustering.links.get(account, ()):
            if other in in_case and weight > 0.0:
                per_signal[signal].append((other, weight, count))
        for signal, peers in per_signal.items():
            count = sum(c for _, _, c in peers) if signal == AccountLink.Signal.PROMPT_ECHO else len(peers)
            items.append(
                {
                    "signal": signal,
                    "value": "",
                    "peers": len(peers),
                    "weight": round(max(w for _, w, _ in peers), 3),
                    "text": _link_text(signal, len(peers), count),
                }
            )
        # Ties broken by content, not by the order rows came back from the database (which the next
        # rewrite of the index changes): the same evidence reads the same after every run.
        items.sort(key=lambda item: (-item["weight"], -item["peers"], item["signal"], item["value"]))
        strength = min(1.0, sum(item["weight"] for item in items))
        result[account] = ([dict(item) for item in items[:MAX_ITEMS]], round(strength, 3))
    return result
