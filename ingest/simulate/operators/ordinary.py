"""Ordinary developers and chat users: each one is their own operator.

They are the background any signal must stand out from: popular SDKs, big
clouds, shared VPN exits, a common default system prompt, a daily rhythm in
their own time zone, quiet weekends, and a few of them flagged by noisy
detectors (upstream false positives).
"""

from __future__ import annotations

import random
from collections.abc import Iterator

from ingest.simulate import clients, identity, network
from ingest.simulate.operators.base import FlagRule, Operator, SimAccount, SimContext, account_record, make_event
from ingest.simulate.prompts import (
    COMMON_SYSTEM_PROMPTS,
    cot_text,
    personal_system_prompt,
    personal_tools,
    prompt_of,
    sha256_text,
    tools_sha256,
)
from ingest.simulate.traffic import DAY, human_times, is_weekend, poisson

_CATEGORIES = ["coding", "chat", "reasoning", "agentic", "vision", "other"]
_DEVELOPER = [55, 20, 10, 5, 5, 5]
_CHATTER = [10, 60, 10, 0, 10, 10]
_TIERS = [("free", "email"), ("free", "none"), ("build", "email"), ("build", "phone"), ("scale", "phone")]
_TIER_WEIGHTS = [30, 10, 35, 15, 10]
_NOISY = [
    ("cot-elicitation-v3", "some requests ask for step-by-step reasoning"),
    ("volume-anomaly", "volume above the account's usual level"),
    ("proxy-rotation", "client address changed between requests"),
    ("shared-payment", "payment instrument resembles a flagged one"),
]


class OrdinaryUsers(Operator):
    """The whole population of individuals; the truth file lists each as its own operator."""

    kind = "ordinary"

    def __init__(self, *, size: int, period: tuple[float, float], vpn: list[network.Endpoint], vpn_share: float,
                 false_positive: float, seed: str) -> None:  # fmt: skip
        super().__init__("op-user", "ordinary user", random.Random(seed))
        rng = self.rng
        self.false_positive = false_positive
        self._developer: dict[str, bool] = {}
        common_prompts = [sha256_text(text) for text in COMMON_SYSTEM_PROMPTS]
        for _ in range(size):
            country = identity.country(rng)
            roll = rng.random()
            if roll < vpn_share:
                endpoint = rng.choice(vpn)
            elif roll < vpn_share + 0.1:
                endpoint = network.cloud_endpoint(rng)  # a developer's server on a big cloud
            else:
                endpoint = network.residential_endpoint(country, rng)
            developer = rng.random() < 0.45
            system = None
            if developer and rng.random() < 0.3:
                system = sha256_text(personal_system_prompt(rng))
            elif rng.random() < 0.12:
                system = rng.choice(common_prompts)
            account_id = identity.account_id(rng)
            account = SimAccount(
                account_id=account_id,
                operator_id=f"op-user-{account_id.removeprefix('acct_')}",
                created_at=period[0] - rng.uniform(1, 720) * DAY,
                country=country,
                tz_hours=identity.tz_of(country),
                api_key=identity.api_key_id(rng),
                client=clients.popular_client(rng),
                endpoint=endpoint,
                payment=identity.payment_fingerprint(rng) if rng.random() < 0.7 else None,
                system_prompt_sha=system,
                tools_sha=tools_sha256(personal_tools(rng)) if developer and rng.random() < 0.12 else None,
                activity=rng.lognormvariate(0.3, 1.0),
                stub=rng.random() < 0.03,
            )
            if rng.random() < 0.04:
                account.created_at = period[0] + rng.uniform(0, 1) * (
                    period[1] - period[0]
                )  # signed up during the period
            tier, verification = rng.choices(_TIERS, weights=_TIER_WEIGHTS)[0]
            account.record = account_record(
                account,
                email=identity.personal_email(rng),
                tier=tier,
                verification=verification,
                country=country,
                payment_fingerprint=account.payment,
                signup_ip=endpoint.ip if rng.random() < 0.7 else network.residential_endpoint(country, rng).ip,
                signup_user_agent=account.client.user_agent,
                status="active",
            )
            self._developer[account_id] = developer
            self.accounts.append(account)

    def truth(self) -> dict[str, dict]:
        return {a.operator_id: {"kind": self.kind, "label": self.label, "accounts": 1} for a in self.accounts}

    def flag_rules(self) -> list[FlagRule]:
        share = self.false_positive / len(_NOISY)
        return [FlagRule(detector, share, (0.2, 0.75), summary) for detector, summary in _NOISY]

    def day_events(self, ctx: SimContext, day_start: float) -> Iterator[dict]:
        rng = self.rng
        for account in self.active(day_start + DAY):
            factor = 0.45 if is_weekend(day_start, account.tz_hours) else 1.0
            count = poisson(rng, factor * account.activity)
            if not count:
                continue
            weights = _DEVELOPER if self._developer[account.account_id] else _CHATTER
            for t in human_times(rng, day_start, account.tz_hours, count):
                if t < account.created_at:
                    continue
                category = rng.choices(_CATEGORIES, weights=weights)[0]
                prompt = ctx.pools[category].pick(rng)
                cot = category == "reasoning" and rng.random() < 0.2
                if cot:
                    prompt = prompt_of(cot_text(prompt.excerpt, rng))
                # Now and then from a phone or a café instead of home.
                endpoint = account.endpoint
                if rng.random() < 0.08:
                    endpoint = network.residential_endpoint(account.country, rng)
                yield make_event(
                    ctx,
                    account,
                    t,
                    prompt=prompt,
                    category=category,
                    model=clients.VISION_MODEL if category == "vision" else clients.pick_model(rng),
                    tokens=(rng.randint(20, 2500), rng.randint(30, 1800)),
                    endpoint=endpoint,
                    client=account.client,
                    cot=cot,
                    system_prompt_sha=account.system_prompt_sha,
                    tools_sha=account.tools_sha if category in ("coding", "agentic") else None,
                )
