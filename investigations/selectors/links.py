"""Who in a case shares what: indicators from the memberships' link evidence and the accounts' own fields.

Detection writes each membership's `evidence` as a list of links
`{"signal", "value", "peers", "weight", "text"}`. An indicator is one
(signal, value) pair; the graph and the "shared indicators" table count the
accounts that carry each one.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from investigations.models import Case, CaseMembership
from investigations.selectors.snapshots import cached_aggregate, case_members_version

# Account fields that link accounts even when detection has not described the link, named like
# detection's indicator kinds (`detection.models.Indicator.Kind`) so both spellings merge.
FIELD_SIGNALS = {"payment_fingerprint": "payment", "signup_ip": "signup_ip"}
# Signals whose values are personal data: masked for users without view_pii.
PII_SIGNALS = ("email",)


def indicator_key(signal: str, value: str) -> str:
    return f"{signal}={value}"


def membership_indicators(membership: CaseMembership) -> list[tuple[str, str, float]]:
    """(signal, value, weight) of every indicator this member carries, deduplicated."""
    found: dict[tuple[str, str], float] = {}
    for link in membership.evidence or []:
        if not isinstance(link, dict):
            continue
        signal, value = str(link.get("signal") or ""), link.get("value")
        if not signal or value in (None, "", [], {}):
            continue
        key = (signal, str(value))
        found[key] = max(found.get(key, 0.0), float(link.get("weight") or 0.0))
    account = membership.account
    for field, signal in FIELD_SIGNALS.items():
        value = getattr(account, field)
        if value:
            found.setdefault((signal, str(value)), 0.0)
    return [(s, v, w) for (s, v), w in found.items()]


def account_state(account: Any) -> str:
    """Graph colour class: banned beats flagged beats linked."""
    if account.is_banned:
        return "banned"
    if account.is_flagged:
        return "flagged"
    return "linked"


def case_links(*, case: Case) -> dict[str, Any]:
    """Accounts and the indicators shared by at least two of them, stored per membership version.

    Returns {"accounts": [[pk, account_id, state, [indicator index, ...]], ...],
             "indicators": [[signal, value, account count, max weight], ...]} with
    indicators sorted by how many accounts carry them.
    """

    def compute() -> dict[str, Any]:
        members = (
            CaseMembership.objects.filter(case=case)
            .select_related("account")
            .only(
                "evidence",
                "account__id",
                "account__account_id",
                "account__enforcement",
                "account__flagged_at",
                "account__payment_fingerprint",
                "account__signup_ip",
            )
            .order_by("account__account_id")
        )
        carriers: dict[tuple[str, str], list[int]] = defaultdict(list)
        weights: dict[tuple[str, str], float] = {}
        accounts: list[list[Any]] = []
        per_account: list[list[tuple[str, str]]] = []
        for i, m in enumerate(members):
            keys = []
            for signal, value, weight in membership_indicators(m):
                carriers[(signal, value)].append(i)
                weights[(signal, value)] = max(weights.get((signal, value), 0.0), weight)
                keys.append((signal, value))
            accounts.append([m.account.pk, m.account.account_id, account_state(m.account), []])
            per_account.append(keys)
        shared = sorted(
            (k for k, idx in carriers.items() if len(idx) >= 2), key=lambda k: (-len(carriers[k]), -weights[k], k)
        )
        index = {k: n for n, k in enumerate(shared)}
        for row, keys in zip(accounts, per_account, strict=True):
            row[3] = sorted(index[k] for k in keys if k in index)
        return {"accounts": accounts, "indicators": [[s, v, len(carriers[(s, v)]), weights[(s, v)]] for s, v in shared]}

    return cached_aggregate(key=f"case-links:{case.pk}", version=case_members_version(case), compute=compute)


def mask_value(signal: str, value: str, *, can_view_pii: bool) -> str:
    if can_view_pii or not any(p in signal for p in PII_SIGNALS):
        return value
    return "(hidden: needs PII access)"


def indicator_accounts(*, links: dict[str, Any], signal: str, value: str) -> list[list[Any]]:
    """The case's accounts carrying one indicator (for a click on a graph node)."""
    for i, (s, v, _count, _w) in enumerate(links["indicators"]):
        if s == signal and v == value:
            return [a for a in links["accounts"] if i in a[3]]
    return []
