"""What a case would share: which accounts qualify, which values they used, and which values are withheld.

Two rules decide it, both shown verbatim on the preview page:
- only accounts a person confirmed abusive are shared (`SHARE_RULE`);
- only values specific to the operator go out: a value that many accounts outside the
  confirmed set also use (a big cloud ASN, a popular SDK user agent, gmail.com) would flag
  innocent people at every partner, so it is withheld with the count that shows why.
"""

from __future__ import annotations

import ipaddress
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from django.db import connection
from django.db.models import Count, Max, Min, Q

from accounts.models import Account, UsageEvent
from investigations.models import Case
from investigations.sharing import event_values, identifiers
from investigations.sharing.models import PartnerIndicator, Tlp

SHARE_RULE = (
    "An account is shared only when a person confirmed it abusive: its case is resolved "
    "'confirmed attack', or an analyst banned it in Hydra Watch. Other members are withheld."
)
SPECIFICITY_RULE = (
    "A value is shared only when at most {limit} accounts outside the confirmed set use it "
    "(otherwise it would flag innocent users at partners), and e-mail domains only when at least "
    "two confirmed accounts signed up with them and they are not public webmail."
)
RESHARE_RULE = "Values a partner sent us under TLP:AMBER or stricter are never re-shared."
# At most this many accounts outside the confirmed set may share a value for it to count as specific.
MAX_OUTSIDE_ACCOUNTS = 5
PUBLIC_WEBMAIL = frozenset(
    [
        "gmail.com",
        "googlemail.com",
        "outlook.com",
        "hotmail.com",
        "live.com",
        "yahoo.com",
        "icloud.com",
        "me.com",
        "aol.com",
        "proton.me",
        "protonmail.com",
        "gmx.de",
        "gmx.net",
        "web.de",
        "mail.ru",
        "yandex.ru",
        "qq.com",
        "163.com",
        "126.com",
        "naver.com",
        "hotmail.co.uk",
        "yahoo.co.jp",
    ]
)
# A prompt SimHash is shared when this many confirmed accounts sent the same templated prompt.
MIN_SIMHASH_ACCOUNTS = 3
MAX_SIMHASHES = 50
_PRIVATE_NETS = [
    ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "fc00::/7")
]
_NO_RESHARE = {Tlp.AMBER, Tlp.AMBER_STRICT, Tlp.RED}


@dataclass
class Value:
    """One indicator value seen on the confirmed accounts."""

    kind: str
    value: str
    accounts: set[int] = field(default_factory=set)
    events: int = 0
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    outside_accounts: int = 0
    asns: set[str] = field(default_factory=set)
    withheld: str = ""

    def add(self, account_id: int, events: int, first: datetime | None, last: datetime | None) -> None:
        self.accounts.add(account_id)
        self.events += events
        if first and (self.first_seen is None or first < self.first_seen):
            self.first_seen = first
        if last and (self.last_seen is None or last > self.last_seen):
            self.last_seen = last


@dataclass
class Collected:
    cases: list[Case]
    accounts: list[Account]
    withheld_accounts: list[tuple[Account, str]]
    values: list[Value]
    events_total: int = 0
    first_seen: datetime | None = None
    last_seen: datetime | None = None

    @property
    def shared(self) -> list[Value]:
        return [v for v in self.values if not v.withheld]

    @property
    def withheld(self) -> list[Value]:
        return [v for v in self.values if v.withheld]


def confirmed_accounts(cases: list[Case]) -> tuple[list[Account], list[tuple[Account, str]]]:
    """Split the cases' members into shared (human-confirmed) and withheld, with the reason."""
    shared, withheld = [], []
    for case in cases:
        confirmed_case = case.resolution == Case.Resolution.CONFIRMED_ATTACK
        members = Account.objects.filter(memberships__case=case).order_by("pk")
        for account in members:
            if confirmed_case or account.enforcement == Account.Enforcement.BANNED:
                shared.append(account)
            else:
                withheld.append((account, "not confirmed: case not resolved 'confirmed attack' and account not banned"))
    return shared, withheld


def _reject_ip(value: str) -> str:
    try:
        ip = ipaddress.ip_address(value)
    except ValueError:
        return "not an IP address"
    if (
        ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_unspecified
        or any(ip in net for net in _PRIVATE_NETS if net.version == ip.version)
    ):
        return "private network address (means nothing outside our network)"
    return ""


def collect(cases: list[Case]) -> Collected:
    """Gather every candidate value of the confirmed accounts and decide what is withheld."""
    accounts, withheld_accounts = confirmed_accounts(cases)
    ids = [a.pk for a in accounts]
    values: dict[tuple[str, str], Value] = {}

    def value(kind: str, val: str) -> Value:
        return values.setdefault((kind, val), Value(kind, val))

    result = Collected(cases=cases, accounts=accounts, withheld_accounts=withheld_accounts, values=[])
    if not ids:
        return result

    # Request metadata: one aggregate per (account, kind, value) over the confirmed accounts' events.
    hits = _event_hits(ids)
    ip_asns: dict[str, set[str]] = defaultdict(set)
    for hit in hits:
        if hit.kind == "ip-asn":
            ip, _, asn = hit.value.partition("|")
            ip_asns[ip].add(asn)
            continue
        value(hit.kind, hit.value).add(hit.account_id, hit.events, hit.first_seen, hit.last_seen)
    for (kind, val), v in values.items():
        if kind == "ip":
            v.asns = ip_asns.get(val, set())
    for v in values.values():
        if v.kind == "ip":
            result.events_total += v.events
            if v.first_seen and (result.first_seen is None or v.first_seen < result.first_seen):
                result.first_seen = v.first_seen
            if v.last_seen and (result.last_seen is None or v.last_seen > result.last_seen):
                result.last_seen = v.last_seen

    # Sign-up data from the account rows.
    for account in accounts:
        if account.signup_ip:
            value("ip", account.signup_ip).add(account.pk, 0, account.created_at, account.created_at)
        if account.email_domain:
            value("email-domain", account.email_domain).add(account.pk, 0, account.created_at, account.created_at)
        if account.email:
            value("email", identifiers.normalize_email(account.email)).add(account.pk, 0, None, None)
        if account.payment_fingerprint:
            value("payment", account.payment_fingerprint).add(account.pk, 0, None, None)

    _apply_rarity(values, set(ids))
    _apply_partner_tlp(values)
    result.values = sorted(values.values(), key=lambda v: (v.kind, -len(v.accounts), v.value))
    return result


_SETS = ["ip", "asn", "user_agent", "ja4", "system_prompt_sha256", "tools_sha256"]
_SET_KINDS = ["ip", "asn", "user-agent", "ja4", "system-prompt", "tools"]


def _event_hits_pg(ids: list[int]) -> list[event_values.Hit]:
    """PostgreSQL: every per-account aggregate in one pass over the accounts' events (GROUPING SETS)."""
    cols = ", ".join(_SETS)
    sets = ", ".join(f"(account_id, {c})" for c in _SETS) + ", (ip, asn)"
    sql = f"""
        SELECT account_id, host(ip), asn, user_agent, ja4, system_prompt_sha256, tools_sha256,
               count(*), min(ts), max(ts), GROUPING({cols})
        FROM {UsageEvent._meta.db_table} WHERE account_id = ANY(%s)
        GROUP BY GROUPING SETS ({sets})
    """  # noqa: S608 - fixed column names only
    hits: list[event_values.Hit] = []
    full = (1 << len(_SETS)) - 1
    with connection.cursor() as cur:
        cur.execute(sql, [ids])
        for account_id, *vals, n, first, last, grouping in cur.fetchall():
            if account_id is None:  # the (ip, asn) set
                if vals[0] is not None and vals[1] is not None:
                    hits.append(event_values.Hit(0, "ip-asn", f"{vals[0]}|{vals[1]}", 0, None, None))
                continue
            # GROUPING() has bit (5 - i) clear for the one column grouped in this set.
            index = next(i for i in range(len(_SETS)) if not (grouping >> (len(_SETS) - 1 - i)) & 1)
            value = vals[index]
            if value is None or value == "" or grouping == full:
                continue
            hits.append(event_values.Hit(account_id, _SET_KINDS[index], str(value), n, first, last))
    return hits


def _event_hits(ids: list[int]) -> list[event_values.Hit]:
    if connection.vendor == "postgresql":
        return _event_hits_pg(ids) + _templated_simhash_hits(ids)
    hits: list[event_values.Hit] = []
    events = UsageEvent.objects.filter(account_id__in=ids)
    for kind, column in event_values.EVENT_COLUMNS.items():
        if kind == "simhash":
            continue
        rows = (
            events.exclude(**{f"{column}__isnull": True})
            .exclude(**{column: ""} if kind not in ("asn", "simhash", "ip") else {})
            .values_list("account_id", column)
            .annotate(n=Count("id"), first=Min("ts"), last=Max("ts"))
            .order_by()
        )
        hits.extend(event_values.Hit(a, kind, str(val), n, f, last) for a, val, n, f, last in rows)
    hits.extend(_templated_simhash_hits(ids))
    pairs = events.exclude(ip__isnull=True).exclude(asn__isnull=True).values_list("ip", "asn").distinct().order_by()
    hits.extend(event_values.Hit(0, "ip-asn", f"{ip}|{asn}", 0, None, None) for ip, asn in pairs)  # type: ignore[arg-type]
    return hits


def _templated_simhash_hits(ids: list[int]) -> list[event_values.Hit]:
    events = UsageEvent.objects.filter(account_id__in=ids)
    hits: list[event_values.Hit] = []
    # Prompt SimHashes: nearly every prompt has its own; only templates repeated across accounts matter.
    templated = list(
        events.exclude(prompt_simhash__isnull=True)
        .values("prompt_simhash")
        .annotate(a=Count("account_id", distinct=True))
        .filter(a__gte=MIN_SIMHASH_ACCOUNTS)
        .order_by("-a")
        .values_list("prompt_simhash", flat=True)[:MAX_SIMHASHES]
    )
    if templated:
        rows = (
            events.filter(prompt_simhash__in=templated)
            .values_list("account_id", "prompt_simhash")
            .annotate(n=Count("id"), first=Min("ts"), last=Max("ts"))
            .order_by()
        )
        hits.extend(event_values.Hit(a, "simhash", str(val), n, f, last) for a, val, n, f, last in rows)
    return hits


def _apply_rarity(values: dict[tuple[str, str], Value], confirmed: set[int]) -> None:
    """Withhold values shared by many accounts outside the confirmed set, and personal data we never send."""
    limit = MAX_OUTSIDE_ACCOUNTS
    by_kind: dict[str, set[str]] = defaultdict(set)
    for kind, val in values:
        if kind in event_values.EVENT_COLUMNS:
            by_kind[kind].add(val)
    outside: dict[tuple[str, str], int] = defaultdict(int)
    # Every confirmed account that used an event value is in v.accounts, so the rest are outside the set.
    for key, total in event_values.account_counts(by_kind).items():
        outside[key] = max(0, total - len(values[key].accounts))
    # Account-level values: sign-up IPs, e-mail domains, payment fingerprints.
    ips = [v.value for (k, _), v in values.items() if k == "ip"]
    for ip, n in (
        Account.objects.filter(signup_ip__in=ips)
        .exclude(pk__in=confirmed)
        .values_list("signup_ip")
        .annotate(n=Count("id"))
        .order_by()
    ):
        outside[("ip", ip)] = max(outside[("ip", ip)], n)
    domains = [v.value for (k, _), v in values.items() if k == "email-domain"]
    domain_q = Q()
    for d in domains:
        domain_q |= Q(email__iendswith=f"@{d}")
    if domains:
        for email in Account.objects.filter(domain_q).exclude(pk__in=confirmed).values_list("email", flat=True):
            outside[("email-domain", email.rpartition("@")[2].lower())] += 1
    payments = [v.value for (k, _), v in values.items() if k == "payment"]
    for fp, n in (
        Account.objects.filter(payment_fingerprint__in=payments)
        .exclude(pk__in=confirmed)
        .values_list("payment_fingerprint")
        .annotate(n=Count("id"))
        .order_by()
    ):
        outside[("payment", fp)] = n

    for key, v in values.items():
        v.outside_accounts = outside.get(key, 0)
        if v.kind == "ip" and (reason := _reject_ip(v.value)):
            v.withheld = reason
        elif v.kind == "email-domain" and v.value in PUBLIC_WEBMAIL:
            v.withheld = "public webmail domain"
        elif v.kind == "email-domain" and len(v.accounts) < 2:
            v.withheld = "only one confirmed account signed up with it (not a bulk sign-up domain)"
        elif v.outside_accounts > limit:
            v.withheld = f"used by {v.outside_accounts} accounts outside the confirmed set (more than {limit})"


def _apply_partner_tlp(values: dict[tuple[str, str], Value]) -> None:
    """A value a partner gave us under AMBER or stricter is not ours to pass on."""
    kind_map = {
        "ip": ["ipv4", "ipv6"],
        "asn": ["asn"],
        "email-domain": ["email-domain"],
        "ja4": ["ja4"],
        "user-agent": ["user-agent"],
        "system-prompt": ["system-prompt", "prompt-sha256"],
        "tools": ["tools", "prompt-sha256"],
    }
    wanted = [(pk, v) for (k, v) in values for pk in kind_map.get(k, [])]
    if not wanted:
        return
    rows = PartnerIndicator.objects.filter(
        value__in={v for _, v in wanted}, kind__in={k for k, _ in wanted}, tlp__in=_NO_RESHARE
    ).values_list("kind", "value", "tlp", "partner__name")
    restricted: dict[str, tuple[str, str]] = {}
    for kind, val, tlp, partner in rows:
        restricted[f"{kind}|{val}"] = (tlp, partner)
    for (kind, val), v in values.items():
        for pk in kind_map.get(kind, []):
            if (hit := restricted.get(f"{pk}|{val}")) and not v.withheld:
                v.withheld = f"partner {hit[1]} shared it as TLP:{hit[0].upper()}; not ours to re-share"
