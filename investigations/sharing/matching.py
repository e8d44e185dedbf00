"""Match partner indicators against our accounts and their events.

Event-side values (IPs, ASNs, user agents, JA4s, prompt fingerprints) are looked up in one scan
of the events (`event_values.account_hits`); account-side values (sign-up IP and user agent,
e-mail domain, keyed hashes of e-mails and payment fingerprints computed with the community key
the partner used) in one pass over the accounts.
"""

from __future__ import annotations

import ipaddress
from collections import defaultdict
from dataclasses import dataclass

from django.db import connection
from django.db.models import Count

from accounts.models import Account, UsageEvent
from investigations.sharing import event_values, identifiers
from investigations.sharing.models import PartnerIndicator

K = PartnerIndicator.Kind
# partner kind -> event kinds it is compared with
_EVENT_KINDS: dict[str, list[str]] = {
    K.IPV4: ["ip"],
    K.IPV6: ["ip"],
    K.ASN: ["asn"],
    K.USER_AGENT: ["user-agent"],
    K.JA4: ["ja4"],
    K.SYSTEM_PROMPT: ["system-prompt"],
    K.TOOLS: ["tools"],
    K.PROMPT_SHA256: ["system-prompt", "tools"],
    K.SIMHASH: ["simhash"],
}


@dataclass
class Match:
    indicator_id: int
    account_id: int
    matched_on: str
    events: int = 0


def _event_value(kind: str, value: str) -> str:
    if kind == K.SIMHASH:  # hex (shared form) -> signed bigint text (stored form)
        unsigned = int(value, 16)
        return str(unsigned - (1 << 64) if unsigned >= 1 << 63 else unsigned)
    return value


def find_matches(indicators: list[PartnerIndicator]) -> tuple[list[Match], list[str]]:
    """All (indicator, account) matches, plus notes on indicators that could not be matched."""
    notes: list[str] = []
    matches: dict[tuple[int, int], Match] = {}

    def add(ind_id: int, account_id: int, on: str, events: int = 0) -> None:
        m = matches.setdefault((ind_id, account_id), Match(ind_id, account_id, on, 0))
        m.events += events
        if on not in m.matched_on:
            m.matched_on = f"{m.matched_on}; {on}"[:200]

    by_event_value: dict[tuple[str, str], list[int]] = defaultdict(list)
    cidrs: list[tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, int]] = []
    for ind in indicators:
        if ind.kind in (K.IPV4, K.IPV6) and "/" in ind.value:
            try:
                cidrs.append((ipaddress.ip_network(ind.value, strict=False), ind.pk))
            except ValueError:
                notes.append(f"{ind.stix_id}: {ind.value[:60]} is not an IP network")
            continue
        for event_kind in _EVENT_KINDS.get(ind.kind, []):
            by_event_value[(event_kind, _event_value(ind.kind, ind.value))].append(ind.pk)
    wanted: dict[str, set[str]] = defaultdict(set)
    for kind, value in by_event_value:
        wanted[kind].add(value)
    for hit in event_values.account_hits(wanted):
        for ind_id in by_event_value.get((hit.kind, hit.value), []):
            add(ind_id, hit.account_id, f"{hit.events} requests with this {hit.kind}", hit.events)
    for account_id, ip, n, ind_id in _cidr_hits(cidrs):
        add(ind_id, account_id, f"{n} requests from {ip}", n)

    _match_accounts(indicators, add, notes)
    return list(matches.values()), notes


def _cidr_hits(cidrs: list) -> list[tuple[int, str, int, int]]:
    """Events whose IP falls in a partner's network (rare: partners mostly send single addresses)."""
    if not cidrs:
        return []
    out = []
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute(
                f"SELECT account_id, host(ip), count(*) FROM {UsageEvent._meta.db_table} "  # noqa: S608
                "WHERE ip <<= ANY(%s::cidr[]) GROUP BY account_id, host(ip)",
                [[str(net) for net, _ in cidrs]],
            )
            rows = cur.fetchall()
    else:
        rows = list(UsageEvent.objects.exclude(ip=None).values_list("account_id", "ip").annotate(n=Count("id")))
    for account_id, ip, n in rows:
        address = ipaddress.ip_address(ip)
        out += [(account_id, ip, n, ind) for net, ind in cidrs if address.version == net.version and address in net]
    return out


def _match_accounts(indicators: list[PartnerIndicator], add, notes: list[str]) -> None:
    keys = identifiers.community_keys()
    ips = defaultdict(list)
    uas = defaultdict(list)
    domains = defaultdict(list)
    hashes: dict[tuple[str, str, str], list[int]] = defaultdict(list)
    for ind in indicators:
        if ind.kind in (K.IPV4, K.IPV6) and "/" not in ind.value:
            ips[ind.value].append(ind.pk)
        elif ind.kind == K.USER_AGENT:
            uas[ind.value].append(ind.pk)
        elif ind.kind == K.EMAIL_DOMAIN:
            domains[ind.value].append(ind.pk)
        elif ind.kind in (K.EMAIL_HASH, K.PAYMENT_HASH):
            if ind.key_id not in keys:
                notes.append(f"{ind.stix_id}: keyed hash under key {ind.key_id!r}, which we do not hold")
                continue
            hashes[(ind.kind, ind.key_id, ind.value)].append(ind.pk)
    if ips:
        for pk, ip in Account.objects.filter(signup_ip__in=list(ips)).values_list("pk", "signup_ip"):
            for ind_id in ips[ip]:
                add(ind_id, pk, "sign-up IP")
    if uas:
        for pk, ua in Account.objects.filter(signup_user_agent__in=list(uas)).values_list("pk", "signup_user_agent"):
            for ind_id in uas[ua]:
                add(ind_id, pk, "sign-up user agent")
    if not domains and not hashes:
        return
    key_ids = {key_id for _, key_id, _ in hashes}
    kinds = {kind for kind, _, _ in hashes}
    email_hashers = [
        (key_id, identifiers.hasher(key=keys[key_id], identifier_type=identifiers.EMAIL))
        for key_id in key_ids
        if K.EMAIL_HASH in kinds
    ]
    payment_hashers = [
        (key_id, identifiers.hasher(key=keys[key_id], identifier_type=identifiers.PAYMENT))
        for key_id in key_ids
        if K.PAYMENT_HASH in kinds
    ]
    rows = Account.objects.exclude(email="", payment_fingerprint="").values_list("pk", "email", "payment_fingerprint")
    for pk, email, payment in rows.iterator(chunk_size=20_000):
        if email and domains and (ind_ids := domains.get(email.rpartition("@")[2].lower())):
            for ind_id in ind_ids:
                add(ind_id, pk, "sign-up e-mail domain")
        if email:
            for key_id, digest in email_hashers:
                for ind_id in hashes.get((K.EMAIL_HASH, key_id, digest(email)), ()):
                    add(ind_id, pk, "keyed hash of the sign-up e-mail")
        if payment:
            for key_id, digest in payment_hashers:
                for ind_id in hashes.get((K.PAYMENT_HASH, key_id, digest(payment)), ()):
                    add(ind_id, pk, "keyed hash of the payment fingerprint")
