"""An independently designed world of API operators, written as an ingest batch plus its ground truth.

Designed from the problem statement, not from `ingest/simulate`, and varying
what simulate keeps fixed, so that detection is measured on behaviour rather
than on one generator's habits:

- Formats: account, event and alert ids in one of several styles per world;
  timestamps in UTC or with local offsets, with or without fractions; IPv4 and
  IPv6; address blocks and AS numbers drawn per seed.
- Legitimate look-alikes *without* an org id and with mixed or weak
  verification: a startup's dev accounts on one company card, a university lab
  on education tier behind one NAT whose students sign up in a burst with one
  e-mail pattern and ask for step-by-step answers to the same homework, an
  enterprise batch pipeline on a big cloud running round the clock at high
  volume on one card, heavy individual power users flagged upstream, families
  sharing a card, ordinary people behind VPN exits, on clouds, with popular
  SDKs and public prompt templates.
- Attackers with tactics drawn per operator: unique prepaid cards or small card
  pools, residential proxy rotation over the same networks ordinary people use,
  popular-SDK user agents, system prompts templated per account (SHA-256 differs,
  the wording barely), a shared tool harness or a public one, chain-of-thought
  elicitation from light to heavy, 30-70% ordinary-looking traffic mixed in,
  sign-ups in bursts or spread over weeks, lockstep or staggered scripts, only
  30-80% of accounts flagged upstream.

Truth: {"seed", "mix", "operators": {op: {"kind", "label", "accounts"}}, "accounts": {account: op}},
with kind "attacker", "legitimate" (multi-account look-alikes and power users) or "ordinary".
"""

from __future__ import annotations

import hashlib
import math
import re
import string
from dataclasses import dataclass, field
from functools import lru_cache
from random import Random

import numpy as np
import orjson

DAY = 86400.0
HOUR = 3600.0
CATEGORIES = ("chat", "coding", "agentic", "reasoning", "vision", "other")
_TOKEN = re.compile(r"[a-z0-9]+")


@lru_cache(maxsize=200_000)
def simhash(text: str) -> str | None:
    """The spec's 64-bit SimHash of word 3-gram shingles (ingest-format.md), written from the spec."""
    tokens = _TOKEN.findall(text.lower())
    if not tokens:
        return None
    shingles = [" ".join(tokens[i : i + 3]) for i in range(len(tokens) - 2)] or [" ".join(tokens)]
    digests = b"".join(hashlib.blake2b(s.encode(), digest_size=8).digest() for s in shingles)
    # Bits of each big-endian hash, most significant first; a bit is set where most shingles set it.
    bits = np.unpackbits(np.frombuffer(digests, dtype=np.uint8).reshape(len(shingles), 8), axis=1)
    majority = bits.sum(axis=0) * 2 > len(shingles)
    return np.packbits(majority).tobytes().hex()


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


# ---------------------------------------------------------------- mixes


@dataclass(frozen=True)
class Mix:
    """Who is in the world, as shares of all accounts, and how the attackers behave (ranges drawn per operator)."""

    name: str
    attackers: tuple[float, ...]  # share of accounts of each attacker operator
    labs: tuple[float, ...] = (0.03,)
    startups: int = 2
    pipelines: tuple[float, ...] = (0.008,)
    power_users: float = 0.02
    families: int = 4
    vpn_share: float = 0.08
    cloud_share: float = 0.05
    ordinary_fp: float = 0.02  # ordinary accounts flagged by noisy detectors
    normal_traffic: tuple[float, float] = (0.3, 0.7)
    flagged: tuple[float, float] = (0.3, 0.8)
    cot: tuple[float, float] = (0.15, 0.9)
    unique_cards: float = 0.5  # chance an attacker gives every account its own prepaid card
    burst_signups: float = 0.5
    lockstep: float = 0.5
    harness: float = 0.6  # chance an attacker runs its own tool harness (else a public one or none)
    fanout: tuple[float, float] = (0.05, 0.4)  # share of harvest prompts sent to several accounts at once


MIXES = {
    mix.name: mix
    for mix in (
        Mix("baseline", attackers=(0.12, 0.06, 0.02)),
        Mix(
            "prepaid-proxy",
            attackers=(0.1, 0.05, 0.03, 0.02),
            unique_cards=1.0,
            burst_signups=0.25,
            harness=0.4,
            fanout=(0.03, 0.2),
        ),
        Mix(
            "legit-heavy",
            attackers=(0.06, 0.02),
            labs=(0.04, 0.03, 0.015),
            startups=5,
            pipelines=(0.012, 0.008, 0.005),
            power_users=0.05,
            families=10,
            vpn_share=0.15,
            cloud_share=0.1,
            ordinary_fp=0.05,
        ),
        Mix("many-small", attackers=(0.015,) * 10 + (0.03,) * 2, startups=3),
        Mix(
            "slow-burn",
            attackers=(0.1, 0.04, 0.02),
            normal_traffic=(0.55, 0.7),
            flagged=(0.3, 0.45),
            cot=(0.15, 0.4),
            burst_signups=0.0,
            lockstep=0.2,
            fanout=(0.03, 0.12),
        ),
    )
}


# ---------------------------------------------------------------- formats and networks


class Formats:
    """Id and timestamp styles: one draw per world, as one provider would have."""

    def __init__(self, rng: Random) -> None:
        self.rng = rng
        self.account_style = rng.randrange(4)
        self.event_style = rng.randrange(3)
        self.time_style = rng.randrange(3)
        self.tag = "".join(rng.choice(string.ascii_lowercase) for _ in range(3))
        self._seen: set[str] = set()
        self._event = 0
        self._alert = 0

    def account_id(self) -> str:
        rng = self.rng
        while True:
            if self.account_style == 0:
                value = f"acct-{rng.getrandbits(40):010x}"
            elif self.account_style == 1:
                value = f"U{rng.randrange(10**7, 10**8)}"
            elif self.account_style == 2:
                h = f"{rng.getrandbits(128):032x}"
                value = f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
            else:
                value = f"org.{self.tag}:user.{_base36(rng.getrandbits(36))}"
            if value not in self._seen:
                self._seen.add(value)
                return value

    def event_id(self) -> str:
        self._event += 1
        if self.event_style == 0:
            return f"req_{self._event:010d}"
        if self.event_style == 1:
            return f"ev:{self.tag}:{_base36(self._event * 7919 + 13)}"
        return f"{self.tag.upper()}-{self._event:x}-{self.rng.getrandbits(16):04x}"

    def alert_id(self) -> str:
        self._alert += 1
        return f"alrt.{self.tag}.{self._alert:06d}" if self.event_style != 1 else f"A{self._alert:08d}"

    def ts(self, epoch: float) -> str:
        """RFC 3339 with a zone; the style (Z with millis, +00:00, local offsets) is the world's."""
        offset_min = 0
        if self.time_style == 2:
            offset_min = self.rng.choice((480, -300, 330, 60, -420, 540))
        t = epoch + offset_min * 60
        days, rest = divmod(t, DAY)
        y, m, d = _civil(int(days))
        hh, rest = divmod(rest, HOUR)
        mm, ss = divmod(rest, 60)
        base = f"{y:04d}-{m:02d}-{d:02d}T{int(hh):02d}:{int(mm):02d}:{int(ss):02d}"
        if self.time_style == 0:
            return f"{base}.{int((ss % 1) * 1000):03d}Z"
        if self.time_style == 1:
            return base + "+00:00"
        sign = "+" if offset_min >= 0 else "-"
        return f"{base}.{int((ss % 1) * 1e6):06d}{sign}{abs(offset_min) // 60:02d}:{abs(offset_min) % 60:02d}"


def _base36(n: int) -> str:
    digits = string.digits + string.ascii_lowercase
    out = ""
    while True:
        n, r = divmod(n, 36)
        out = digits[r] + out
        if n == 0:
            return out


def _civil(days: int) -> tuple[int, int, int]:
    """Days since 1970-01-01 -> (year, month, day) (Howard Hinnant's algorithm; no datetime needed)."""
    days += 719468
    era = days // 146097
    doe = days - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    y = yoe + era * 400
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + 3 if mp < 10 else mp - 9
    return y + (m <= 2), m, d


@dataclass
class Network:
    asn: int
    blocks: list[tuple[int, int]]  # /16 prefixes
    v6: str | None = None

    def address(self, rng: Random) -> str:
        if self.v6 and rng.random() < 0.3:
            groups = ":".join(f"{rng.getrandbits(16):x}" for _ in range(3))
            return f"{self.v6}:{groups}::{rng.getrandbits(12):x}"
        a, b = rng.choice(self.blocks)
        return f"{a}.{b}.{rng.randrange(256)}.{rng.randrange(1, 255)}"


class Internet:
    """Residential, mobile, business, education, cloud and VPN networks; prefixes and AS numbers drawn per seed."""

    FIRST_OCTETS = [o for o in range(11, 224) if o not in (10, 100, 127, 169, 172, 192, 198, 203)]

    def __init__(self, rng: Random) -> None:
        self.rng = rng
        used: set[tuple[int, int]] = set()
        asns: set[int] = set()

        def net(blocks: int, v6: bool = False) -> Network:
            while (asn := rng.randrange(1000, 400000)) in asns:
                pass
            asns.add(asn)
            chosen = []
            while len(chosen) < blocks:
                block = (rng.choice(self.FIRST_OCTETS), rng.randrange(256))
                if block not in used:
                    used.add(block)
                    chosen.append(block)
            prefix = f"2{rng.randrange(1, 0xFFF):03x}:{rng.getrandbits(16):x}" if v6 else None
            return Network(asn, chosen, prefix)

        self.residential = [net(rng.randrange(2, 6), v6=rng.random() < 0.5) for _ in range(rng.randrange(10, 18))]
        self.mobile = [net(2, v6=True) for _ in range(rng.randrange(3, 6))]
        self.business = [net(1) for _ in range(rng.randrange(4, 8))]
        self.education = [net(1) for _ in range(4)]
        self.cloud = [net(rng.randrange(6, 12)) for _ in range(rng.randrange(3, 6))]
        self.hosting = [net(2) for _ in range(rng.randrange(3, 6))]
        vpn_nets = [net(1) for _ in range(2)]
        self.vpn_exits = [(n.address(rng), n.asn) for n in vpn_nets for _ in range(rng.randrange(2, 5))]

    def home(self, rng: Random) -> tuple[str, int]:
        n = rng.choice(self.residential)
        return n.address(rng), n.asn

    def phone(self, rng: Random) -> tuple[str, int]:
        n = rng.choice(self.mobile)
        return n.address(rng), n.asn


# ---------------------------------------------------------------- clients and prompts

_SDKS = [
    ("openai-python", ["1.51.0", "1.54.3", "1.57.0"]),
    ("anthropic-sdk-python", ["0.39.0", "0.40.0"]),
    ("python-httpx", ["0.27.2", "0.28.1"]),
    ("python-requests", ["2.32.3"]),
    ("axios", ["1.7.7", "1.7.9"]),
    ("node-fetch", ["3.3.2"]),
    ("curl", ["8.5.0", "8.11.1"]),
    ("LangChain", ["0.3.7", "0.3.13"]),
    ("Go-http-client", ["2.0"]),
    ("okhttp", ["4.12.0"]),
]


class Clients:
    """Popular SDK user agents (with a TLS fingerprint each) shared by thousands; custom ones are rare by nature."""

    def __init__(self, rng: Random) -> None:
        self.ja4 = {name: _ja4(rng) for name, _ in _SDKS}
        self.weights = [rng.uniform(0.5, 6) for _ in _SDKS]

    def popular(self, rng: Random) -> tuple[str, str]:
        name, versions = rng.choices(_SDKS, self.weights)[0]
        return f"{name}/{rng.choice(versions)}", self.ja4[name]

    @staticmethod
    def custom(rng: Random) -> tuple[str, str]:
        word = rng.choice(["relay", "harvest", "crawler", "dsbuild", "evalkit", "mirror", "orbit"])
        return f"{word}-{_base36(rng.getrandbits(20))}/{rng.randrange(0, 4)}.{rng.randrange(10)}", _ja4(rng)


def _ja4(rng: Random) -> str:
    return f"t13d{rng.randrange(10, 20)}{rng.randrange(10, 20)}h2_{rng.getrandbits(48):012x}_{rng.getrandbits(48):012x}"


_FIRST = [
    "ana",
    "ben",
    "chen",
    "dara",
    "eli",
    "fatima",
    "gus",
    "hana",
    "ivan",
    "jo",
    "kai",
    "lena",
    "mo",
    "nadia",
    "omar",
    "pia",
    "quinn",
    "raj",
    "sara",
    "tom",
    "uma",
    "vic",
    "wen",
    "yuki",
    "zoe",
]
_LAST = [
    "smith",
    "garcia",
    "wang",
    "kim",
    "muller",
    "rossi",
    "silva",
    "novak",
    "sato",
    "ivanova",
    "haddad",
    "okafor",
    "berg",
    "lopez",
    "nguyen",
    "kowalski",
]
_FREEMAIL = ["gmail.com", "outlook.com", "yahoo.com", "proton.me", "icloud.com", "gmx.de", "mail.ru", "163.com"]
_TOPICS = [
    "sourdough starter",
    "tax deadline",
    "birthday party",
    "job interview",
    "marathon training",
    "garden tomatoes",
    "car insurance",
    "a cover letter",
    "my landlord",
    "a wedding toast",
    "vegetarian recipes",
    "a trip to Lisbon",
    "my cat's diet",
    "learning Spanish",
    "a budget spreadsheet",
    "a podcast intro",
    "a rental contract",
    "the history of Rome",
    "houseplants",
    "a chess opening",
]
_ASKS = [
    "Can you help me with {t}?",
    "Write a short note about {t} for my friend.",
    "What should I know about {t}",
    "Give me three ideas for {t} please",
    "Explain {t} like I'm new to it.",
    "Is it normal to worry about {t}?",
    "Summarize the main points about {t} in a list",
    "Fix the grammar in this paragraph about {t}: i has been thinking alot",
]
_CODE_ASKS = [
    "Why does my {l} code throw {e} when I {v}?",
    "Write a {l} function to {v}",
    "Refactor this {l} snippet so it can {v} faster",
    "How do I {v} in {l} without a library",
]
_LANGS = ["Python", "TypeScript", "Rust", "Go", "Java", "SQL", "bash", "C#"]
_ERRS = ["a KeyError", "a null pointer", "an off-by-one", "a timeout", "a segfault", "a type error"]
_VERBS = ["parse a CSV", "merge two lists", "retry a request", "read a config file", "sort by date", "dedupe rows"]


def ordinary_prompt(rng: Random) -> tuple[str, str]:
    """(category, prompt) of everyday use."""
    r = rng.random()
    if r < 0.3:
        ask = rng.choice(_CODE_ASKS).format(l=rng.choice(_LANGS), e=rng.choice(_ERRS), v=rng.choice(_VERBS))
        return "coding", ask + f" ({rng.randrange(1000)})" * (rng.random() < 0.3)
    if r < 0.38:
        return "vision", f"What is in this photo of {rng.choice(_TOPICS)}?"
    if r < 0.45:
        return "reasoning", f"Which is better for {rng.choice(_TOPICS)}: option {rng.randrange(9)} or the other?"
    if r < 0.5:
        return "other", f"Translate to French: notes on {rng.choice(_TOPICS)} number {rng.randrange(500)}"
    return "chat", rng.choice(_ASKS).format(t=rng.choice(_TOPICS))


# Harvest tasks: an operator fills a long fixed template with a short item, so its prompts sit close in SimHash.
_TARGETS = {
    "reasoning": (
        ("reasoning", 0.7, "other", 0.1, "coding", 0.2),
        [
            "Solve problem {n} from the {src} set: {item}. Think through it step by step, justify every step, "
            "check your work and only then state the final answer in a box.",
            "You are given competition problem {n} ({src}). {item}. Write out your complete chain of reasoning "
            "before answering and verify the result with a second method.",
        ],
        [
            "a triangle has sides {a}, {b} and {c}; find its area",
            "find all integers x with x^2 = {a} mod {b}",
            "a bag holds {a} red and {b} blue balls; {c} are drawn",
            "sum the series 1/k^2 from k = {a} to {b}",
        ],
    ),
    "coding": (
        ("coding", 0.75, "agentic", 0.15, "reasoning", 0.1),
        [
            "Task {n} [{src}]: {item}. Produce a complete, production quality implementation with tests and a "
            "detailed explanation of each design decision.",
            "Implement the following for benchmark {src} item {n}: {item}. Return the full source file and explain "
            "your reasoning line by line.",
        ],
        [
            "an LRU cache with TTL in {l}",
            "a rate limiter for {a} requests per {b} seconds in {l}",
            "a parser for the {l} config format",
            "a thread pool with {a} workers in {l}",
        ],
    ),
    "agentic": (
        ("agentic", 0.65, "coding", 0.25, "other", 0.1),
        [
            "Episode {n} of {src}: {item}. Use the available tools, narrate your plan and your reasoning before "
            "every tool call, and report the final state.",
            "Agent trajectory {n} ({src}): {item}. Think aloud, call tools as needed, and explain each observation.",
        ],
        [
            "book a flight under {a} dollars with {b} stops",
            "fix failing test {a} in repo {l}-{b}",
            "find the cheapest of {a} vendors and file order {b}",
            "clean dataset {l}-{a} and plot column {b}",
        ],
    ),
}


def harvest_prompt(rng: Random, template: str, items: list[str], n: int, src: str) -> str:
    item = rng.choice(items).format(
        a=rng.randrange(2, 999), b=rng.randrange(2, 99), c=rng.randrange(2, 50), l=rng.choice(_LANGS)
    )
    return template.format(n=n, src=src, item=item)


# Public content shared by many unrelated customers: a framework's default system prompt and tool schema.
PUBLIC_PROMPTS = [sha(f"public template {i}: You are a helpful assistant.") for i in range(3)]
PUBLIC_TOOLS = [sha(f'[{{"name":"search","public_kit":{i}}}]') for i in range(3)]


# ---------------------------------------------------------------- accounts and operators


@dataclass
class Acct:
    id: str
    op: str
    created: float
    record: dict | None  # None: a stub known only by its events
    keys: list[str]
    ua: tuple[str, str]
    flag_p: float = 0.0
    detectors: tuple[str, ...] = ("volume-anomaly",)
    tz: float = 0.0  # hours east of UTC
    home: tuple[str, int] | None = None
    extra: dict = field(default_factory=dict)


@dataclass
class Operator:
    op_id: str
    kind: str
    label: str
    accounts: list[Acct] = field(default_factory=list)
    traits: dict = field(default_factory=dict)


class World:
    """Builds the cast, then streams its records day by day."""

    def __init__(self, *, accounts: int, days: int, seed: int, mix: str) -> None:
        if mix not in MIXES:
            raise ValueError(f"unknown mix {mix!r}; choose one of {', '.join(MIXES)}")
        self.mix = MIXES[mix]
        self.seed = seed
        self.days = days
        self.total = accounts
        self.rng = Random(f"world:{seed}:{mix}")
        self.fmt = Formats(Random(f"fmt:{seed}"))
        self.net = Internet(Random(f"net:{seed}"))
        self.clients = Clients(Random(f"clients:{seed}"))
        # A start date drawn per seed (2025-2026), at midnight UTC.
        self.start = (20089 + Random(f"start:{seed}").randrange(0, 400)) * DAY
        self.end = self.start + days * DAY
        self.operators: list[Operator] = []
        self._cast()

    # ------------------------------------------------------------ helpers

    def _op(self, kind: str, label: str, **traits) -> Operator:
        op = Operator(f"{kind[:3]}-{len(self.operators):04d}", kind, label, traits=traits)
        self.operators.append(op)
        return op

    def _acct(self, op: Operator, created: float, record: dict | None, **kw) -> Acct:
        rng = self.rng
        aid = self.fmt.account_id()
        if record is not None:
            record = {"type": "account", "account_id": aid, "created_at": self.fmt.ts(created), **record}
            record = {k: v for k, v in record.items() if v not in (None, "")}
        kw.setdefault("keys", [f"key_{rng.getrandbits(48):012x}"])
        kw.setdefault("ua", self.clients.popular(rng))
        acct = Acct(aid, op.op_id, created, record, **kw)
        op.accounts.append(acct)
        return acct

    def _count(self, share: float, low: int = 2) -> int:
        return max(low, round(share * self.total))

    @staticmethod
    def _person(rng: Random) -> tuple[str, str]:
        return rng.choice(_FIRST), rng.choice(_LAST)

    def _personal_email(self, rng: Random) -> str:
        first, last = self._person(rng)
        style = rng.randrange(4)
        local = [
            f"{first}.{last}",
            f"{first[0]}{last}{rng.randrange(10, 99)}",
            f"{first}{rng.randrange(1970, 2008)}",
            f"{last}.{first}{rng.randrange(1, 999)}",
        ][style]
        if rng.random() < 0.06:
            return f"{rng.randrange(10**6, 10**10)}@qq.com"  # numeric addresses: a common pattern, not a burst
        return f"{local}@{rng.choice(_FREEMAIL)}"

    # ------------------------------------------------------------ the cast

    def _cast(self) -> None:
        mix, rng = self.mix, self.rng
        used = 0
        for share in mix.attackers:
            used += len(self._attacker(self._count(share, 4)).accounts)
        for share in mix.labs:
            used += len(self._lab(self._count(share, 6)).accounts)
        for _ in range(mix.startups):
            used += len(self._startup(rng.randrange(3, 9)).accounts)
        for share in mix.pipelines:
            used += len(self._pipeline(self._count(share, 3)).accounts)
        for _ in range(mix.families):
            used += len(self._family(rng.randrange(2, 4)).accounts)
        for _ in range(self._count(mix.power_users, 1)):
            used += len(self._power_user().accounts)
        for _ in range(max(20, self.total - used)):
            self._ordinary()

    def _ordinary(self) -> Operator:
        rng = self.rng
        op = self._op("ordinary", "ordinary person")
        r = rng.random()
        where = (
            "vpn" if r < self.mix.vpn_share else "cloud" if r < self.mix.vpn_share + self.mix.cloud_share else "home"
        )
        created = self.start - rng.uniform(0, 700) * DAY if rng.random() < 0.9 else rng.uniform(self.start, self.end)
        home = self.net.home(rng)
        if where == "cloud":
            n = rng.choice(self.net.cloud)
            home = (n.address(rng), n.asn)
        tier, verification = rng.choice(
            [
                ("free", "none"),
                ("free", "email"),
                ("build", "email"),
                ("build", "phone"),
                ("scale", "phone"),
                ("education", "email"),
                ("build", "id_document"),
            ]
        )
        record = {
            "email": self._personal_email(rng) if rng.random() < 0.97 else None,
            "tier": tier,
            "verification": verification,
            "country": rng.choice(["US", "DE", "IN", "BR", "JP", "FR", "GB", "NG", "ID", "CA"]),
            "payment_fingerprint": f"card_{rng.getrandbits(56):014x}" if tier != "free" else None,
            "signup_ip": (rng.choice(self.net.vpn_exits)[0] if where == "vpn" and rng.random() < 0.5 else home[0]),
            "signup_user_agent": "Mozilla/5.0",
        }
        tool = rng.random()
        self._acct(
            op,
            created,
            record if rng.random() > 0.03 else None,
            tz=rng.choice([-8, -5, 0, 1, 2, 5.5, 8, 9]),
            home=home,
            flag_p=self.mix.ordinary_fp,
            detectors=("tos-classifier", "ip-reputation"),
            extra={
                "where": where,
                "rate": rng.lognormvariate(0.6, 0.9),
                "public_prompt": rng.choice(PUBLIC_PROMPTS) if tool < 0.15 else None,
                "public_tools": rng.choice(PUBLIC_TOOLS) if tool < 0.08 else None,
            },
        )
        return op

    def _power_user(self) -> Operator:
        rng = self.rng
        op = self._op("legitimate", "heavy individual power user")
        home = self.net.home(rng)
        self._acct(
            op,
            self.start - rng.uniform(30, 900) * DAY,
            {
                "email": self._personal_email(rng),
                "tier": rng.choice(["build", "scale"]),
                "verification": rng.choice(["email", "phone", "none"]),
                "country": rng.choice(["US", "DE", "KR", "IN"]),
                "payment_fingerprint": f"card_{rng.getrandbits(56):014x}",
                "signup_ip": home[0],
            },
            tz=rng.choice([-8, -5, 1, 9]),
            home=home,
            flag_p=0.7,
            detectors=("volume-anomaly", "reasoning-extraction-v2", "token-velocity"),
            extra={
                "rate": rng.uniform(30, 90),
                "cot": rng.uniform(0.05, 0.35),
                "night_jobs": rng.random() < 0.4,
                "focus": rng.choice(["coding", "reasoning", "agentic"]),
                "prompt": sha(f"power {rng.random()}") if rng.random() < 0.5 else rng.choice(PUBLIC_PROMPTS),
                "tools": rng.choice(PUBLIC_TOOLS) if rng.random() < 0.5 else None,
            },
        )
        return op

    def _family(self, size: int) -> Operator:
        rng = self.rng
        op = self._op("legitimate", "family or flatmates sharing one card")
        card = f"card_{rng.getrandbits(56):014x}"
        home = self.net.home(rng)
        last = rng.choice(_LAST)
        for _ in range(size):
            first = rng.choice(_FIRST)
            self._acct(
                op,
                self.start - rng.uniform(0, 500) * DAY,
                {
                    "email": f"{first}.{last}@{rng.choice(_FREEMAIL)}",
                    "tier": "build",
                    "verification": "email",
                    "payment_fingerprint": card,
                    "signup_ip": home[0],
                    "country": "US",
                },
                tz=-5,
                home=home,
                flag_p=0.1,
                detectors=("shared-instrument",),
                extra={"rate": rng.uniform(0.5, 4)},
            )
        return op

    def _startup(self, size: int) -> Operator:
        """Dev accounts of a small company on one card: no org id, weak verification, one product prompt."""
        rng = self.rng
        name = rng.choice(["quill", "brightloop", "tessera", "nimbus", "cartograph", "fernly", "octave"])
        domain = f"{name}{rng.randrange(10, 99)}.{rng.choice(['io', 'ai', 'dev', 'co'])}"
        op = self._op("legitimate", f"startup {domain}: dev accounts on one company card")
        card = f"card_{rng.getrandbits(56):014x}"
        office = rng.choice(self.net.business)
        office_ip = (office.address(rng), office.asn)
        ci = rng.choice(self.net.cloud)
        ci_ip = (ci.address(rng), ci.asn)
        product_prompt = sha(f"{domain} product assistant v{rng.randrange(9)}")
        product_tools = sha(f"{domain} tools")
        ua = self.clients.popular(rng)
        for i in range(size):
            first, last = self._person(rng)
            created = self.start - rng.uniform(5, 300) * DAY
            self._acct(
                op,
                created,
                {
                    "email": f"{first}.{last}@{domain}" if i else f"founders@{domain}",
                    "tier": rng.choice(["build", "scale"]),
                    "verification": rng.choice(["none", "email", "email", "phone"]),
                    "payment_fingerprint": card if rng.random() < 0.85 else None,
                    "signup_ip": office_ip[0] if rng.random() < 0.6 else self.net.home(rng)[0],
                    "country": "US",
                },
                tz=rng.choice([-8, -5, 1]),
                home=self.net.home(rng),
                ua=ua,
                flag_p=0.25,
                detectors=("shared-instrument", "volume-anomaly"),
                extra={
                    "office": office_ip,
                    "ci": ci_ip,
                    "prompt": product_prompt,
                    "tools": product_tools,
                    "rate": rng.uniform(8, 40),
                    "cot": rng.uniform(0.02, 0.12),
                },
            )
        return op

    def _lab(self, size: int) -> Operator:
        """A university course/lab on education tier: one NAT, a sign-up burst with student ids, homework echoes."""
        rng = self.rng
        uni = rng.choice(["northfield", "uni-karlsberg", "lakemont", "stellenbosch-x", "kyoto-tech", "ucv"])
        domain = f"{rng.choice(['students.', 'mail.', ''])}{uni}.{rng.choice(['edu', 'ac.uk', 'de', 'ac.jp'])}"
        op = self._op("legitimate", f"university lab at {domain}: education tier, one NAT, sign-up burst")
        edu = rng.choice(self.net.education)
        nat = (edu.address(rng), edu.asn)
        session_start = self.start - rng.uniform(3, 40) * DAY
        course_prompt = sha(f"{domain} TA assistant {rng.random()}")  # each lab its own course
        tz = rng.choice([1, 2, -5, 9, 8])
        id_style = rng.randrange(3)
        homework = [
            f"Homework {k}: prove that the sum of the first n odd numbers is n squared, showing every step of the "
            f"induction clearly for the {uni} course"
            for k in range(1, 7)
        ] + [f"Lab {k}: explain step by step why quicksort has an n log n average running time" for k in range(1, 5)]
        for _ in range(size):
            burst = rng.random() < 0.75
            created = session_start + rng.uniform(0, 2.5 * HOUR) if burst else session_start - rng.uniform(0, 60) * DAY
            sid = rng.randrange(10**6, 10**7)
            first, last = self._person(rng)
            local = [f"s{sid}", f"{first[0]}{last}{rng.randrange(20, 26)}", f"stu{sid}"][id_style]
            self._acct(
                op,
                created,
                {
                    "email": f"{local}@{domain}",
                    "tier": "education" if rng.random() < 0.8 else "research",
                    "verification": rng.choice(["none", "email", "email", "institution"]),
                    "payment_fingerprint": f"card_{rng.getrandbits(56):014x}" if rng.random() < 0.3 else None,
                    "signup_ip": nat[0] if burst else self.net.home(rng)[0],
                    "country": "DE",
                },
                tz=tz,
                home=self.net.home(rng),
                flag_p=rng.uniform(0.1, 0.35),
                detectors=("reasoning-extraction-v2", "tos-classifier"),
                extra={
                    "nat": nat,
                    "prompt": course_prompt,
                    "homework": homework,
                    "rate": rng.uniform(2, 12),
                    "cot": rng.uniform(0.15, 0.4),
                },
            )
        op.traits["sessions"] = [(rng.randrange(7), rng.uniform(9, 16)) for _ in range(2)]  # weekday, start hour
        return op

    def _pipeline(self, size: int) -> Operator:
        """An enterprise batch pipeline on a big cloud: round the clock, high volume, one card, often no org id."""
        rng = self.rng
        corp = rng.choice(["globex", "initech", "umbrella-logistics", "wayne-retail", "hooli", "vandelay"])
        domain = f"{corp}{rng.randrange(10, 99)}.com"  # two pipelines are two companies
        op = self._op("legitimate", f"enterprise pipeline {domain}: cloud, 24x7, one card")
        card = f"card_{rng.getrandbits(56):014x}"
        cloud = self.net.cloud[0]  # the biggest cloud, shared with many ordinary people
        nat_gateways = [(cloud.address(rng), cloud.asn) for _ in range(rng.randrange(2, 6))]
        ephemeral = rng.random() < 0.5
        org = f"org_{rng.getrandbits(32):08x}" if rng.random() < 0.3 else None
        templated = rng.random() < 0.5
        created0 = self.start - rng.uniform(10, 200) * DAY
        prompts = [sha(f"{domain} extraction prompt {k} {rng.random()}") for k in range(rng.randrange(1, 4))]
        ua = self.clients.popular(rng)
        for i in range(size):
            self._acct(
                op,
                created0 + (rng.uniform(0, 600) if templated else rng.uniform(0, 90 * DAY)),
                {
                    "email": f"pipeline{i + 1}@{domain}"
                    if templated
                    else f"svc-{rng.choice(_VERBS).split()[0]}-{_base36(i + 11)}@{domain}",
                    "org_id": org,
                    "tier": rng.choice(["scale", "enterprise"]),
                    "verification": rng.choice(["email", "phone", "id_document", "none"]),
                    "payment_fingerprint": card,
                    "signup_ip": nat_gateways[0][0],
                    "country": "US",
                },
                ua=ua,
                keys=[f"key_{rng.getrandbits(48):012x}" for _ in range(rng.randrange(1, 4))],
                flag_p=0.35,
                detectors=("volume-anomaly", "token-velocity"),
                extra={
                    "gateways": nat_gateways,
                    "ephemeral": ephemeral,
                    "cloud": cloud,
                    "prompts": prompts,
                    "rate": rng.uniform(60, 160),
                },
            )
        return op

    def _attacker(self, size: int) -> Operator:
        rng, mix = self.rng, self.mix
        target = rng.choice(list(_TARGETS))
        tactics = {
            "target": target,
            "cards": "unique" if rng.random() < mix.unique_cards else rng.choice(["pool", "pool", "few"]),
            "proxy": rng.choice(["rotating", "rotating", "sticky", "datacenter"]),
            "ua": rng.choice(["popular", "popular", "custom"]),
            "burst": rng.random() < mix.burst_signups,
            "lockstep": rng.random() < mix.lockstep,
            "harness": "own" if rng.random() < mix.harness else rng.choice(["public", "none"]),
            "emails": rng.choice(["template", "names", "catchall"]),
            "rhythm": rng.choice(["24x7", "24x7", "shifts", "office"]),
            "edu": rng.random() < 0.4,
            "normal": rng.uniform(*mix.normal_traffic),
            "cot": rng.uniform(*mix.cot),
            "fanout": rng.uniform(*mix.fanout),
            "flagged": rng.uniform(*mix.flagged),
            "rate": rng.uniform(20, 70),
        }
        op = self._op(
            "attacker", f"{target} distillation ({tactics['cards']} cards, {tactics['proxy']} proxies)", **tactics
        )
        # Proxy pool: residential addresses on the networks ordinary people use, or a few rented servers.
        if tactics["proxy"] == "datacenter":
            hosts = rng.sample(self.net.hosting, min(2, len(self.net.hosting)))
            pool = [(h.address(rng), h.asn) for h in hosts for _ in range(rng.randrange(3, 10))]
        else:
            nets = rng.sample(self.net.residential + self.net.mobile, rng.randrange(4, 9))
            pool_size = max(15, round(size * rng.uniform(0.5, 3)))
            pool = [(n.address(rng), n.asn) for n in (rng.choice(nets) for _ in range(pool_size))]
        op.traits["pool"] = pool
        words = rng.sample(["expert", "meticulous", "senior", "patient", "rigorous", "world-class"], 2)
        prompt_template = (
            f"You are a {words[0]} {target} tutor (worker {{k}}). Always reason in full detail, never skip steps, "
            f"and format the final answer as JSON for dataset build {{b}}."
        )
        op.traits["templates"] = _TARGETS[target][1]
        op.traits["items"] = _TARGETS[target][2]
        op.traits["src"] = rng.choice(["gsm-hard", "apps-x", "swe-mini", "olymp", "toolbench-r", "mbpp-plus"])
        tools = sha(f"harness {rng.random()}") if tactics["harness"] == "own" else rng.choice(PUBLIC_TOOLS)
        if tactics["harness"] == "none":
            tools = None
        custom_ua = self.clients.custom(rng)
        cards: list[str] = []
        mail_word = rng.choice(["dev", "acc", "lab", "data", "ml", "res", "gpt", "ai", "work", "team"])
        mail_word += "".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randrange(0, 3)))
        mail_word += rng.choice(["", ".", "_"])
        mail_domain = (
            rng.choice(_FREEMAIL) if tactics["emails"] != "catchall" else f"{_base36(rng.getrandbits(30))}.xyz"
        )
        base = self.start - rng.uniform(3, 45) * DAY
        burst_at = base
        for i in range(size):
            if tactics["burst"]:
                if i % rng.randrange(6, 30) == 0:
                    burst_at = base + rng.uniform(0, 30) * DAY
                created = burst_at + rng.uniform(0, 40 * 60)
            else:
                created = base + rng.uniform(0, 50) * DAY
            if created > self.end - 2 * DAY:  # too late to be seen: signed up some time before instead
                created = self.start - rng.uniform(0, 20) * DAY
            if (
                tactics["cards"] == "unique"
                or not cards
                or (tactics["cards"] == "pool" and rng.random() < 0.35)
                or tactics["cards"] == "few"
                and rng.random() < 0.08
            ):
                cards.append(f"card_{rng.getrandbits(56):014x}")
            if tactics["emails"] == "template":
                email = f"{mail_word}{rng.randrange(100, 99999)}@{mail_domain}"
            elif tactics["emails"] == "catchall":
                email = f"{rng.choice(_FIRST)}{_base36(rng.getrandbits(20))}@{mail_domain}"
            else:
                email = self._personal_email(rng)
            tier = "education" if tactics["edu"] and rng.random() < 0.7 else rng.choice(["free", "build", "build"])
            stub = rng.random() < 0.04
            self._acct(
                op,
                created,
                None
                if stub
                else {
                    "email": email,
                    "tier": tier,
                    "verification": rng.choice(["none", "email", "email", "phone"]),
                    "country": rng.choice(["US", "SG", "HK", "MY", "GB", "CA"]),
                    "payment_fingerprint": cards[-1] if tier != "free" or rng.random() < 0.3 else None,
                    "signup_ip": rng.choice(pool)[0],
                    "signup_user_agent": "Mozilla/5.0",
                },
                ua=custom_ua if tactics["ua"] == "custom" else self.clients.popular(rng),
                keys=[f"key_{rng.getrandbits(48):012x}" for _ in range(rng.randrange(1, 4))],
                flag_p=tactics["flagged"],
                tz=rng.choice([8, 3, -5, 1]),
                detectors=("reasoning-extraction-v2", "token-velocity", "ip-reputation", "shared-instrument"),
                extra={
                    "prompt": sha(prompt_template.format(k=i, b=rng.randrange(50))),
                    "tools": tools,
                    "pool": rng.sample(pool, min(len(pool), rng.randrange(1, 4)))
                    if tactics["proxy"] == "sticky"
                    else pool,
                    "rate": tactics["rate"] * rng.uniform(0.6, 1.4),
                },
            )
        return op

    # ------------------------------------------------------------ traffic

    def records(self):
        """Every record of the batch: accounts, then a day of events at a time, then alerts and late snapshots."""
        for op in self.operators:
            for acct in op.accounts:
                if acct.record is not None:
                    yield acct.record
        for day in range(self.days):
            day_start = self.start + day * DAY
            rng = Random(f"day:{self.seed}:{day}")
            for op in self.operators:
                yield from self._day(op, day_start, rng)
        rng = Random(f"alerts:{self.seed}")
        for op in self.operators:
            for acct in op.accounts:
                if acct.created < self.end - HOUR and rng.random() < acct.flag_p:
                    acct.extra["flagged"] = True
                    for detector in rng.sample(acct.detectors, rng.randrange(1, min(2, len(acct.detectors)) + 1)):
                        score = round(rng.uniform(0.45, 0.99), 3)
                        at = rng.uniform(max(self.start, acct.created + HOUR), self.end - 60)
                        yield {
                            "type": "alert",
                            "alert_id": self.fmt.alert_id(),
                            "account_id": acct.id,
                            "detector": detector,
                            "score": score,
                            "raised_at": self.fmt.ts(at),
                            "severity": "critical" if score > 0.9 else "high" if score > 0.75 else "medium",
                        }
        # A couple of later snapshots: the provider suspends some attacker accounts.
        for op in self.operators:
            for acct in op.accounts:
                if op.kind == "attacker" and acct.record is not None and rng.random() < 0.03:
                    yield {
                        "type": "account",
                        "account_id": acct.id,
                        "created_at": acct.record["created_at"],
                        "status": "suspended",
                    }

    def _event(
        self,
        acct: Acct,
        ts: float,
        *,
        ip: tuple[str, int],
        category: str,
        cot: bool,
        tin: int,
        tout: int,
        prompt: str | None = None,
        system: str | None = None,
        tools: str | None = None,
        rng: Random,
    ) -> dict:
        event = {
            "type": "event",
            "event_id": self.fmt.event_id(),
            "account_id": acct.id,
            "ts": self.fmt.ts(ts),
            "api_key_id": rng.choice(acct.keys),
            "ip": ip[0],
            "asn": ip[1],
            "user_agent": acct.ua[0],
            "ja4": acct.ua[1],
            "model": rng.choice(["atlas-2", "atlas-2-mini", "atlas-2-reason"]),
            "input_tokens": tin,
            "output_tokens": tout,
            "category": category,
            "cot_requested": cot,
        }
        if system:
            event["system_prompt_sha256"] = system
        if tools:
            event["tools_sha256"] = tools
        if prompt:
            hashed = simhash(prompt)
            if hashed:
                event["prompt_simhash"] = hashed
            event["prompt_excerpt"] = prompt[:200]
        return event

    def _human_times(self, rng: Random, n: int, day_start: float, tz: float) -> list[float]:
        """Daytime in the account's own zone: mostly 8-23 local, peaks late morning and evening."""
        out = []
        for _ in range(n):
            local = rng.choice([rng.gauss(11, 2), rng.gauss(15, 2.5), rng.gauss(20.5, 1.5)])
            out.append(day_start + ((local - tz) % 24) * HOUR + rng.uniform(0, 60))
        return out

    def _weekend(self, day_start: float, tz: float) -> bool:
        return int((day_start + tz * HOUR) // DAY + 3) % 7 >= 5  # 1970-01-01 was a Thursday

    def _day(self, op: Operator, day_start: float, rng: Random):
        handler = {
            "ordinary person": self._day_ordinary,
            "heavy individual power user": self._day_power,
            "family or flatmates sharing one card": self._day_ordinary,
        }.get(op.label)
        if handler is not None:
            for acct in op.accounts:
                if acct.created < day_start + DAY:
                    yield from handler(acct, day_start, rng)
            return
        if op.label.startswith("startup"):
            yield from self._day_startup(op, day_start, rng)
        elif op.label.startswith("university"):
            yield from self._day_lab(op, day_start, rng)
        elif op.label.startswith("enterprise"):
            yield from self._day_pipeline(op, day_start, rng)
        else:
            yield from self._day_attacker(op, day_start, rng)

    def _ip_of(self, acct: Acct, rng: Random) -> tuple[str, int]:
        where = acct.extra.get("where", "home")
        if where == "vpn" and rng.random() < 0.85:
            return rng.choice(self.net.vpn_exits[:3])
        if rng.random() < 0.12:
            return self.net.phone(rng)
        return acct.home or self.net.home(rng)

    def _day_ordinary(self, acct: Acct, day_start: float, rng: Random):
        rate = acct.extra.get("rate", 1.0)
        if rng.random() > 0.55:
            return
        for ts in self._human_times(rng, _poisson(rng, rate * 2), day_start, acct.tz):
            if not acct.created <= ts < self.end:
                continue
            category, prompt = ordinary_prompt(rng)
            yield self._event(
                acct,
                ts,
                ip=self._ip_of(acct, rng),
                category=category,
                cot=rng.random() < 0.03,
                tin=rng.randrange(20, 1500),
                tout=rng.randrange(50, 1200),
                prompt=prompt,
                system=acct.extra.get("public_prompt"),
                tools=acct.extra.get("public_tools"),
                rng=rng,
            )

    def _day_power(self, acct: Acct, day_start: float, rng: Random):
        x = acct.extra
        n = _poisson(rng, x["rate"] * (0.4 if self._weekend(day_start, acct.tz) else 1))
        times = self._human_times(rng, n, day_start, acct.tz)
        if x["night_jobs"]:
            times += [day_start + rng.uniform(0, DAY) for _ in range(_poisson(rng, x["rate"] * 0.5))]
        for ts in times:
            if ts >= self.end:
                continue
            focus = x["focus"] if rng.random() < 0.6 else rng.choice(CATEGORIES[:4])
            _, prompt = ordinary_prompt(rng)
            yield self._event(
                acct,
                ts,
                ip=self._ip_of(acct, rng),
                category=focus,
                cot=rng.random() < x["cot"],
                tin=rng.randrange(500, 20000),
                tout=rng.randrange(300, 6000),
                prompt=prompt + f" [{rng.random():.6f}]",
                system=x["prompt"],
                tools=x["tools"],
                rng=rng,
            )

    def _day_startup(self, op: Operator, day_start: float, rng: Random):
        for acct in op.accounts:
            x = acct.extra
            weekend = self._weekend(day_start, acct.tz)
            for ts in self._human_times(rng, _poisson(rng, x["rate"] * (0.2 if weekend else 1)), day_start, acct.tz):
                local = ((ts - day_start) / HOUR + acct.tz) % 24
                ip = x["office"] if 9 <= local <= 18 and not weekend else acct.home or x["office"]
                category = rng.choice(["coding", "coding", "agentic", "chat", "other"])
                _, prompt = ordinary_prompt(rng)
                yield self._event(
                    acct,
                    ts,
                    ip=ip,
                    category=category,
                    cot=rng.random() < x["cot"],
                    tin=rng.randrange(300, 8000),
                    tout=rng.randrange(200, 4000),
                    prompt=prompt,
                    system=x["prompt"] if rng.random() < 0.7 else None,
                    tools=x["tools"] if category == "agentic" else None,
                    rng=rng,
                )
            # The nightly CI job: a few evals of the product prompt from the cloud.
            if rng.random() < 0.5:
                ts = day_start + rng.uniform(1, 4) * HOUR
                for k in range(rng.randrange(2, 6)):
                    yield self._event(
                        acct,
                        ts + k * 20,
                        ip=x["ci"],
                        category="chat",
                        cot=False,
                        tin=800,
                        tout=rng.randrange(100, 600),
                        prompt=f"regression case {k}: customer asks about refund policy",
                        system=x["prompt"],
                        rng=rng,
                    )

    def _day_lab(self, op: Operator, day_start: float, rng: Random):
        sessions = op.traits["sessions"]
        weekday = int((day_start + op.accounts[0].tz * HOUR) // DAY + 3) % 7
        for acct in op.accounts:
            if acct.created >= day_start + DAY:
                continue
            x = acct.extra
            times = (
                []
                if self._weekend(day_start, acct.tz) and rng.random() < 0.7
                else self._human_times(rng, _poisson(rng, x["rate"]), day_start, acct.tz)
            )
            in_session = []
            for wd, hour in sessions:
                if wd == weekday and rng.random() < 0.85:  # the lab session: everyone on the same homework
                    t0 = day_start + ((hour - acct.tz) % 24) * HOUR
                    in_session += [t0 + rng.uniform(0, 2 * HOUR) for _ in range(rng.randrange(4, 12))]
            for ts in times + in_session:
                session = ts in in_session
                if session:
                    category, prompt = "reasoning", rng.choice(x["homework"])
                else:
                    category, prompt = ordinary_prompt(rng)
                yield self._event(
                    acct,
                    ts,
                    ip=x["nat"] if session or rng.random() < 0.6 else acct.home,
                    category=category,
                    cot=rng.random() < (x["cot"] * (2 if session else 1)),
                    tin=rng.randrange(50, 1500),
                    tout=rng.randrange(200, 2500),
                    prompt=prompt,
                    system=x["prompt"] if session else None,
                    rng=rng,
                )

    def _day_pipeline(self, op: Operator, day_start: float, rng: Random):
        for acct in op.accounts:
            if acct.created >= day_start + DAY:
                continue
            x = acct.extra
            for _ in range(_poisson(rng, x["rate"])):
                ts = day_start + rng.uniform(0, DAY)
                ip = (x["cloud"].address(rng), x["cloud"].asn) if x["ephemeral"] else rng.choice(x["gateways"])
                doc = f"Extract vendor, total, due date and line items from invoice {rng.randrange(10**6)} as JSON"
                yield self._event(
                    acct,
                    ts,
                    ip=ip,
                    category=rng.choice(["other", "other", "chat", "vision"]),
                    cot=rng.random() < 0.01,
                    tin=rng.randrange(1500, 12000),
                    tout=rng.randrange(80, 700),
                    prompt=doc,
                    system=rng.choice(x["prompts"]),
                    rng=rng,
                )

    def _attack_times(self, op: Operator, rng: Random, n: int, day_start: float, tz: float) -> list[float]:
        rhythm = op.traits["rhythm"]
        if rhythm == "24x7":
            return [day_start + rng.uniform(0, DAY) for _ in range(n)]
        if rhythm == "shifts":
            return [
                day_start + ((rng.choice([rng.uniform(0, 8), rng.uniform(12, 20)]) - tz) % 24) * HOUR for _ in range(n)
            ]
        return self._human_times(rng, n, day_start, tz)

    def _day_attacker(self, op: Operator, day_start: float, rng: Random):
        t = op.traits
        live = [a for a in op.accounts if a.created < day_start + DAY]
        if not live:
            return
        target_weights = _TARGETS[t["target"]][0]
        cats, weights = list(target_weights[0::2]), list(target_weights[1::2])
        # Lockstep scripts run every account in the same sessions; others run each account on its own clock.
        sessions = [
            (day_start + rng.uniform(0, DAY - 2 * HOUR), rng.uniform(0.5, 2) * HOUR) for _ in range(rng.randrange(4, 9))
        ]
        for acct in live:
            x = acct.extra
            n = _poisson(rng, x["rate"])
            harvest = round(n * (1 - t["normal"]))
            if t["lockstep"]:
                times = [s + rng.uniform(0, d) for s, d in (rng.choice(sessions) for _ in range(harvest))]
            else:
                times = self._attack_times(op, rng, harvest, day_start, acct.tz)
            for ts in times:
                if not acct.created <= ts < self.end:
                    continue
                prompt = harvest_prompt(rng, rng.choice(t["templates"]), t["items"], rng.randrange(10**5), t["src"])
                targets = [(acct, ts)]
                if rng.random() < t["fanout"] and len(live) > 1:  # the script sends one task to several heads at once
                    targets += [
                        (other, ts + rng.uniform(1, 90))
                        for other in rng.sample(live, min(len(live), rng.randrange(2, 5)))
                        if other is not acct
                    ]
                for head, when in targets:
                    if not head.created <= when < self.end:
                        continue
                    yield self._event(
                        head,
                        when,
                        ip=rng.choice(head.extra["pool"]),
                        category=rng.choices(cats, weights)[0],
                        cot=rng.random() < t["cot"],
                        tin=rng.randrange(200, 4000),
                        tout=rng.randrange(1500, 14000),
                        prompt=prompt,
                        system=head.extra["prompt"],
                        tools=head.extra["tools"],
                        rng=rng,
                    )
            # Cover traffic: ordinary-looking chat in daytime, through the same exits.
            for ts in self._human_times(rng, n - harvest, day_start, acct.tz):
                if not acct.created <= ts < self.end:
                    continue
                category, prompt = ordinary_prompt(rng)
                yield self._event(
                    acct,
                    ts,
                    ip=rng.choice(x["pool"]),
                    category=category,
                    cot=rng.random() < 0.03,
                    tin=rng.randrange(20, 1500),
                    tout=rng.randrange(50, 1200),
                    prompt=prompt,
                    rng=rng,
                )

    def truth(self) -> dict:
        return {
            "seed": self.seed,
            "mix": f"scenarios:{self.mix.name}",
            "operators": {
                op.op_id: {"kind": op.kind, "label": op.label, "accounts": [a.id for a in op.accounts]}
                for op in self.operators
            },
            "accounts": {a.id: op.op_id for op in self.operators for a in op.accounts},
        }


def _poisson(rng: Random, mean: float) -> int:
    if mean <= 0:
        return 0
    if mean > 30:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, k, p = math.exp(-mean), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


def write(world: World, out, truth_path) -> dict:
    """Write the batch (NDJSON) and the truth file; returns counts per record type."""
    counts: dict[str, int] = {}
    with open(out, "wb") as fh:
        for record in world.records():
            fh.write(orjson.dumps(record) + b"\n")
            counts[record["type"]] = counts.get(record["type"], 0) + 1
    with open(truth_path, "wb") as fh:
        fh.write(orjson.dumps(world.truth(), option=orjson.OPT_INDENT_2))
    return counts
