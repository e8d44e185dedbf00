"""A small crafted world for detection tests: two attacker labs, a university lab, an enterprise, ordinary people.

It contains the traps: ordinary people share a VPN exit IP, a big cloud ASN
and a popular SDK user agent with the attackers; the university lab sits
behind one NAT address and asks for reasoning; the enterprise runs a pipeline
around the clock under one org and one card.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.utils import timezone

from accounts.models import Account, UsageEvent
from accounts.simhash import hex_to_signed, simhash_hex
from investigations.models import Alert

START = datetime(2026, 2, 1, tzinfo=UTC)
VPN_EXIT = "198.51.100.77"
CLOUD_ASN = 16509
POPULAR_UA = "python-httpx/0.27.2"
CATEGORIES = ["chat", "coding", "agentic", "reasoning", "vision", "other"]


@dataclass
class World:
    operators: dict[str, list[str]] = field(default_factory=dict)
    kinds: dict[str, str] = field(default_factory=dict)
    flagged: set[str] = field(default_factory=set)
    events: list[UsageEvent] = field(default_factory=list)
    accounts: dict[str, Account] = field(default_factory=dict)
    seq: int = 0

    def truth(self) -> dict:
        return {
            "seed": 1,
            "mix": "crafted",
            "operators": {
                op: {"kind": self.kinds[op], "label": op, "accounts": accts} for op, accts in self.operators.items()
            },
            "accounts": {a: op for op, accts in self.operators.items() for a in accts},
        }


def _event(world: World, account: Account, ts: datetime, **fields) -> None:
    world.seq += 1
    world.events.append(UsageEvent(event_id=f"ev_{world.seq:07d}", account=account, ts=ts, **fields))


def _add_account(world: World, op: str, account_id: str, *, flagged: bool, **profile) -> Account:
    account = Account.objects.create(account_id=account_id, **profile)
    world.accounts[account_id] = account
    world.operators.setdefault(op, []).append(account_id)
    if flagged:
        world.flagged.add(account_id)
    return account


def _attacker(
    world: World, rng: random.Random, op: str, n: int, *, flagged_share: float, tag: str, template: str, every: int
) -> None:
    world.kinds[op] = "attacker"
    prompt = f"{tag} system prompt: you are a teacher model, always show full chain of thought"
    sys_hash = f"{abs(hash(prompt)) % (1 << 60):064x}"
    tools = f"{abs(hash(tag + 'tools')) % (1 << 60):064x}"
    pool = [f"10.{ord(tag[0]) % 200}.{i // 250}.{i % 250}" for i in range(40)]
    signup = START - timedelta(days=10)
    for i in range(n):
        account = _add_account(
            world, op, f"acct_{tag}_{i:03d}", flagged=rng.random() < flagged_share,
            created_at=signup + timedelta(minutes=3 * i), email=f"{tag}.user{1000 + i}@{tag}-mail.example",
            tier="education" if i % 2 else "free", verification="email", country="SG",
            payment_fingerprint=f"pf_{tag}_{i // 5}", signup_ip=f"203.0.{ord(tag[0]) % 250}.{i % 250}",
        )  # fmt: skip
        for k in range(40):
            ts = START + timedelta(minutes=every * k + i)
            prompt = template.format(k=k)
            _event(
                world, account, ts, ip=rng.choice(pool + [VPN_EXIT]), asn=CLOUD_ASN, user_agent=POPULAR_UA,
                ja4=f"t13d_{tag}", model="frontier-large", input_tokens=900, output_tokens=3000,
                category="reasoning" if k % 4 else "coding", cot_requested=k % 5 != 0,
                system_prompt_sha256=sys_hash, tools_sha256=tools,
                prompt_simhash=hex_to_signed(simhash_hex(prompt)),
            )  # fmt: skip


def _university(world: World, rng: random.Random) -> None:
    op = "op-university"
    world.kinds[op] = "legitimate"
    nat = "192.0.2.10"
    for i in range(8):
        account = _add_account(
            world, op, f"acct_uni_{i:02d}", flagged=i < 3,
            created_at=START - timedelta(days=200 + 17 * i), email=f"student{i}@cs.uni.example", org_id="org_uni_lab",
            tier="research", verification="institution", country="DE", payment_fingerprint="pf_uni_grant",
            signup_ip=nat,
        )  # fmt: skip
        for k in range(30):
            day = START + timedelta(days=k % 10)
            ts = day.replace(hour=9 + (k % 8)) + timedelta(minutes=rng.randint(0, 59))
            _event(
                world, account, ts, ip=nat, asn=680, user_agent=POPULAR_UA, model="frontier-large",
                input_tokens=700, output_tokens=1500, category=rng.choice(["reasoning", "coding", "chat"]),
                cot_requested=k % 2 == 0,
            )  # fmt: skip


def _enterprise(world: World, rng: random.Random) -> None:
    op = "op-enterprise"
    world.kinds[op] = "legitimate"
    for i in range(6):
        account = _add_account(
            world, op, f"acct_ent_{i:02d}", flagged=i < 2,
            created_at=START - timedelta(days=300 + 30 * i), email=f"svc-pipeline-{i}@bigcorp.example",
            org_id="org_bigcorp", tier="enterprise", verification="id_document", country="US",
            payment_fingerprint="pf_bigcorp_invoice", signup_ip="198.18.0.5",
        )  # fmt: skip
        for k in range(48):
            ts = START + timedelta(minutes=30 * k + 2 * i)
            _event(
                world, account, ts, ip=f"198.18.0.{5 + i}", asn=CLOUD_ASN, user_agent="bigcorp-pipeline/2.1",
                model="frontier-large", input_tokens=2000, output_tokens=600,
                category=rng.choice(["chat", "coding", "agentic", "other"]), cot_requested=False,
            )  # fmt: skip


def _ordinary(world: World, rng: random.Random, n: int) -> None:
    for i in range(n):
        op = f"op-person-{i:03d}"
        world.kinds[op] = "ordinary"
        account = _add_account(
            world, op, f"acct_person_{i:03d}", flagged=i % 4 == 0,
            created_at=START - timedelta(days=rng.randint(20, 400)), email=f"person{i}.name@gmail.example",
            tier=rng.choice(["free", "build"]), verification="phone", country=rng.choice(["FR", "US", "BR"]),
            payment_fingerprint=f"pf_person_{i}", signup_ip=f"100.64.{i}.{rng.randint(1, 250)}",
        )  # fmt: skip
        home = f"100.65.{i}.{rng.randint(1, 250)}"
        for k in range(12):
            ts = (START + timedelta(days=k)).replace(hour=rng.randint(8, 21), minute=rng.randint(0, 59))
            _event(
                world, account, ts, ip=VPN_EXIT if k % 2 else home, asn=CLOUD_ASN if k % 3 == 0 else 3320 + i,
                user_agent=POPULAR_UA, model="frontier-small", input_tokens=300, output_tokens=400,
                category=rng.choice(["chat", "coding", "chat", "vision"]), cot_requested=False,
                prompt_simhash=hex_to_signed(simhash_hex("hi")),
            )  # fmt: skip


def build_world(*, seed: int = 7, ordinary: int = 24) -> World:
    """Create the accounts, events and upstream alerts; returns the ground truth alongside."""
    rng = random.Random(seed)
    world = World()
    _attacker(
        world, rng, "op-attacker-a", 20, flagged_share=0.6, tag="alpha", every=37,
        template="Solve step by step and show all your reasoning: a train leaves at {k} o'clock, when does it arrive",
    )  # fmt: skip
    _attacker(
        world, rng, "op-attacker-b", 12, flagged_share=0.7, tag="bravo", every=53,
        template="Write a Python function number {k} that parses ISO 8601 timestamps; explain your thinking first",
    )  # fmt: skip
    _university(world, rng)
    _enterprise(world, rng)
    _ordinary(world, rng, ordinary)
    UsageEvent.objects.bulk_create(world.events, batch_size=2000)
    flag_accounts(world, sorted(world.flagged))
    return world


def flag_accounts(world: World, account_ids: list[str]) -> None:
    now = timezone.now()
    for account_id in account_ids:
        account = world.accounts[account_id]
        Alert.objects.create(
            alert_id=f"up_{account_id}", account=account, detector="volume-anomaly", score=0.8, raised_at=now
        )
        Account.objects.filter(pk=account.pk).update(flagged_at=now)
