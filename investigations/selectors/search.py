"""One search box for cases: account id, e-mail, IP, payment fingerprint or any indicator value."""

from __future__ import annotations

import ipaddress

from django.db.models import Q, TextField
from django.db.models.functions import Cast

from accounts.models import Account, UsageEvent
from investigations.detection.models import AccountIndicator, Indicator
from investigations.models import CaseMembership

# Accounts whose traffic used an IP: bounded so a shared VPN exit cannot stall the page.
MAX_ACCOUNTS_PER_IP = 5000


def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def matching_account_pks(query: str) -> set[int]:
    """Accounts that carry the value in a profile field or, for an IP, in their traffic."""
    q = query.strip()
    field_match = Q(account_id=q) | Q(email__iexact=q) | Q(payment_fingerprint=q) | Q(org_id=q)
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
        AccountIndicator.objects.filter(indicator__kind__in=Indicator.Kind.values, indicator__value=q).values_list(
            "account_id", flat=True
        )[:MAX_ACCOUNTS_PER_IP]
    )
    return pks


def case_ids_matching(query: str) -> set[int]:
    """Cases containing an account that matches, or whose link evidence names the value.

    Evidence values are JSON strings, so the quoted value matches whole values only
    (searching "10.0.0.1" does not find "10.0.0.10"); this works on SQLite and PostgreSQL.
    """
    q = query.strip()
    if not q:
        return set()
    ids = set(CaseMembership.objects.filter(account_id__in=matching_account_pks(q)).values_list("case_id", flat=True))
    quoted = '"' + q.replace("\\", "\\\\").replace('"', '\\"') + '"'
    ids |= set(
        CaseMembership.objects.annotate(evidence_text=Cast("evidence", TextField()))
        .filter(evidence_text__contains=quoted)
        .values_list("case_id", flat=True)
        .distinct()
    )
    return ids
