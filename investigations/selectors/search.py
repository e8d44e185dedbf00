"""One search box for cases: account id, e-mail, IP, payment fingerprint or any indicator value."""

from __future__ import annotations

import ipaddress

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Q, TextField
from django.db.models.functions import Cast

from accounts.models import Account, UsageEvent
from investigations.detection.models import AccountIndicator, Indicator
from investigations.models import CaseMembership
from investigations.selectors.links import PII_SIGNALS

# Accounts whose traffic used an IP: bounded so a shared VPN exit cannot stall the page.
MAX_ACCOUNTS_PER_IP = 5000


def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def _can_view_pii(user: AbstractBaseUser | AnonymousUser) -> bool:
    return user.has_perm("investigations.view_pii")


def _searchable_kinds(user: AbstractBaseUser | AnonymousUser) -> list[str]:
    """Indicator kinds the user may match on: e-mail derived ones only with PII access."""
    if _can_view_pii(user):
        return list(Indicator.Kind.values)
    return [k for k in Indicator.Kind.values if not any(p in k for p in PII_SIGNALS)]


def matching_account_pks(*, user: AbstractBaseUser | AnonymousUser, query: str) -> set[int]:
    """Accounts that carry the value in a profile field or, for an IP, in their traffic.

    E-mail addresses are personal data: without view_pii a search never matches on them,
    otherwise a viewer could confirm who owns an address by watching a case appear.
    """
    q = query.strip()
    field_match = Q(account_id=q) | Q(payment_fingerprint=q) | Q(org_id=q)
    if _can_view_pii(user):
        field_match |= Q(email__iexact=q)
    if _is_ip(q):
        field_match |= Q(signup_ip=q)
    pks = set(Account.objects.filter(field_match).values_list("id", flat=True)[:MAX_ACCOUNTS_PER_IP])
    if _is_ip(q) and not Indicator.objects.filter(kind=Indicator.Kind.IP).exists():
        # Before detection has built its indicator index, fall back to scanning the events.
        pks |= set(
            UsageEvent.objects.filter(ip=q).values_list("account_id", flat=True).distinct()[:MAX_ACCOUNTS_PER_IP]
        )
    # Detection's indicator index knows every value an account exposes (user agents, JA4, prompt
    # hashes, ASNs, ...); one probe per kind on its (kind, value) unique index.
    pks |= set(
        AccountIndicator.objects.filter(indicator__kind__in=_searchable_kinds(user), indicator__value=q).values_list(
            "account_id", flat=True
        )[:MAX_ACCOUNTS_PER_IP]
    )
    return pks


def case_ids_matching(*, user: AbstractBaseUser | AnonymousUser, query: str) -> set[int]:
    """Cases containing an account that matches, or whose link evidence names the value.

    Evidence values are JSON strings, so the quoted value matches whole values only
    (searching "10.0.0.1" does not find "10.0.0.10"); this works on SQLite and PostgreSQL.
    Without view_pii, evidence of e-mail signals does not count as a match.
    """
    q = query.strip()
    if not q:
        return set()
    ids = set(
        CaseMembership.objects.filter(account_id__in=matching_account_pks(user=user, query=q)).values_list(
            "case_id", flat=True
        )
    )
    quoted = '"' + q.replace("\\", "\\\\").replace('"', '\\"') + '"'
    evidence_hits = CaseMembership.objects.annotate(evidence_text=Cast("evidence", TextField())).filter(
        evidence_text__contains=quoted
    )
    if _can_view_pii(user):
        ids |= set(evidence_hits.values_list("case_id", flat=True).distinct())
        return ids
    for case_id, evidence in evidence_hits.values_list("case_id", "evidence")[:MAX_ACCOUNTS_PER_IP]:
        if case_id not in ids and any(_non_pii_hit(item, q) for item in evidence or []):
            ids.add(case_id)
    return ids


def _non_pii_hit(item: object, q: str) -> bool:
    if not isinstance(item, dict):
        return False
    signal = str(item.get("signal", ""))
    return not any(p in signal for p in PII_SIGNALS) and q in (str(item.get("value", "")), str(item.get("text", "")))
