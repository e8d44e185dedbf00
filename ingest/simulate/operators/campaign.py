"""The machinery every distillation operator shares, configured per campaign by a profile.

An operator runs a central task queue and dispatches each task to a few of
its accounts within minutes (near-duplicate prompts from different accounts),
through a rented proxy pool, with a templated system prompt and tool harness.
Accounts come from sign-up bursts (one e-mail pattern, one domain) and pay
with a few shared instruments. Not every account carries every signal: some
share only one or two values with the rest, and all of them mix in ordinary
chat to look normal.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import accumulate

from ingest.simulate import clients, identity, network
from ingest.simulate.config import Stealth
from ingest.simulate.operators.base import FlagRule, Operator, SimAccount, SimContext, account_record, make_event
from ingest.simulate.prompts import PromptPool, prompt_of, sha256_text, tools_sha256
from ingest.simulate.traffic import DAY, arrivals, human_times, is_weekend, poisson

# Small edits an orchestrator makes when it re-sends one task through another account.
_VARIANT_SUFFIXES = ["", "", " Respond with the complete result.", " Be exhaustive."]


@dataclass(frozen=True)
class CampaignProfile:
    """What distinguishes one campaign from another."""

    label: str
    client_name: str  # the operator's own client build (rare UA and JA4)
    task: Callable[[random.Random], str]  # generates one task prompt
    categories: tuple[tuple[str, float], ...]
    cot_rate: float
    input_tokens: tuple[int, int]
    output_tokens: tuple[int, int]
    requests_per_account_day: float
    fanout: tuple[int, int]  # accounts that receive the same task
    shifts: tuple[tuple[int, int], ...]  # UTC hour windows of work; ((0, 24),) is round the clock
    system_prompt: str  # template with {variant}
    tools: Callable[[int], list[dict]]  # harness variant -> tool definitions
    tiers: tuple[tuple[str, str, float], ...]  # (tier, verification, weight)
    countries: tuple[str, ...]  # billing countries the accounts claim
    pool_per_account: float  # proxy addresses per account
    residential_share: float
    flags: tuple[FlagRule, ...]
    weekend_factor: float = 1.0


class Campaign(Operator):
    kind = "attacker"

    def __init__(
        self,
        op_id: str,
        profile: CampaignProfile,
        *,
        size: int,
        stealth: Stealth,
        period: tuple[float, float],
        seed: str,
    ) -> None:
        super().__init__(op_id, profile.label, random.Random(seed))
        self.profile = profile
        self.stealth = stealth
        rng = self.rng
        pool_size = max(12, int(size * profile.pool_per_account * stealth.pool_factor))
        self.pool = network.proxy_pool(rng, size=pool_size, residential_share=profile.residential_share)
        # Tasks recur (an operator samples each several times); the cap also bounds SimHash work on huge runs.
        self.tasks = PromptPool(profile.task, size=min(2500, max(200, size * 3)), rng=rng)
        variants = stealth.harness_variants
        # Each operator writes its own system prompts; tool harnesses come from the profile, so two
        # operators of one kind can share a harness, as labs using one open-source agent framework do.
        tag = identity.hex_id(rng, 6)
        self.system_prompts = [sha256_text(profile.system_prompt.format(variant=f"{tag}-{v}")) for v in range(variants)]
        # A campaign without tools sends no tool definitions at all (no hash), not an empty list.
        self.harnesses = [tools_sha256(t) if (t := profile.tools(v)) else None for v in range(variants)]
        self.client = clients.rare_client(rng, profile.client_name)
        self._build_accounts(size, period)

    # ---- accounts ------------------------------------------------------------------------

    def _build_accounts(self, size: int, period: tuple[float, float]) -> None:
        start, end = period
        rng, stealth, profile = self.rng, self.stealth, self.profile
        cover = stealth.signal_coverage
        payments: list[str] = []
        remaining_in_cell = 0
        bursts_left = 0
        burst: dict = {}
        tiers = [(t, v) for t, v, _ in profile.tiers]
        tier_weights = [w for *_, w in profile.tiers]
        window = self.pool
        for _ in range(size):
            if bursts_left <= 0 and rng.random() < stealth.burst_share:
                # A sign-up burst: most before the period, some inside it.
                bursts_left = rng.randrange(8, 60)
                if rng.random() < 0.8:
                    at = start - rng.uniform(1, 60) * DAY
                else:
                    at = start + rng.uniform(0, 0.7) * (end - start)
                burst = {
                    "at": at,
                    "stem": identity.pattern_stem(rng),
                    "domain": identity.burst_domain(rng),
                    "n": rng.randrange(10, 900),
                    "signup": window[rng.randrange(len(window))],
                }
            if bursts_left > 0:
                bursts_left -= 1
                burst["n"] += rng.randrange(1, 4)
                burst["at"] += rng.uniform(20, 400)
                created = burst["at"]
                email = identity.pattern_email(burst["stem"], burst["n"], burst["domain"])
                signup = burst["signup"] if rng.random() < 0.6 else window[rng.randrange(len(window))]
            else:
                created = start - rng.uniform(1, 120) * DAY
                email = identity.personal_email(rng)
                signup = window[rng.randrange(len(window))]
            if remaining_in_cell <= 0:
                payments.append(identity.payment_fingerprint(rng))
                remaining_in_cell = rng.randint(*stealth.payment_cell)
            remaining_in_cell -= 1
            payment = payments[-1] if rng.random() < cover else identity.payment_fingerprint(rng)
            country = rng.choice(profile.countries)
            tier, verification = rng.choices(tiers, weights=tier_weights)[0]
            variant = rng.randrange(len(self.system_prompts))
            account = SimAccount(
                account_id=identity.account_id(rng),
                operator_id=self.op_id,
                created_at=created,
                country=country,
                tz_hours=identity.tz_of(country),
                api_key=identity.api_key_id(rng),
                client=self.client if rng.random() < cover else clients.popular_client(rng),
                payment=payment,
                system_prompt_sha=self.system_prompts[variant] if rng.random() < cover else None,
                tools_sha=self.harnesses[variant] if rng.random() < cover else None,
                activity=rng.lognormvariate(0, 0.5),
                stub=rng.random() < 0.06,
            )
            account.record = account_record(
                account,
                email=email,
                tier=tier,
                verification=verification,
                country=country,
                payment_fingerprint=payment,
                signup_ip=signup.ip,
                signup_user_agent=account.client.user_agent,
                status="active",
            )
            self.accounts.append(account)
        # Each account rotates through its own slice of the pool (a start offset into it);
        # slices overlap, as pool leases do.
        self._slice_len = max(4, len(self.pool) // 6)
        self._lease = {account.account_id: rng.randrange(len(self.pool)) for account in self.accounts}

    def flag_rules(self) -> list[FlagRule]:
        return [
            FlagRule(r.detector, r.share * self.stealth.flagged_share, r.scores, r.summary) for r in self.profile.flags
        ]

    # ---- traffic -------------------------------------------------------------------------

    def day_events(self, ctx: SimContext, day_start: float) -> Iterator[dict]:
        active = self.active(day_start + DAY)
        if not active:
            return
        yield from self._task_traffic(ctx, day_start, active)
        yield from self._cover_traffic(ctx, day_start, active)

    def _task_traffic(self, ctx: SimContext, day_start: float, active: list[SimAccount]) -> Iterator[dict]:
        rng, profile = self.rng, self.profile
        cum = list(accumulate(a.activity for a in active))
        volume = sum(a.activity for a in active) * profile.requests_per_account_day * (1 - self.stealth.normal_traffic)
        if is_weekend(day_start):
            volume *= profile.weekend_factor
        hours = sum(end - begin for begin, end in profile.shifts)
        fanout_mean = sum(profile.fanout) / 2
        rate = volume / fanout_mean / hours
        categories = [c for c, _ in profile.categories]
        category_weights = [w for _, w in profile.categories]
        for begin, end in profile.shifts:
            for t in arrivals(rng, day_start + begin * 3600, day_start + end * 3600, rate):
                task_text = self.tasks.text(rng.randrange(len(self.tasks)))
                category = rng.choices(categories, weights=category_weights)[0]
                cot = rng.random() < profile.cot_rate
                for account in rng.choices(active, cum_weights=cum, k=rng.randint(*profile.fanout)):
                    sent = t + rng.uniform(0, 300)
                    if sent < account.created_at or sent >= day_start + DAY:
                        continue
                    text = task_text + _VARIANT_SUFFIXES[rng.randrange(len(_VARIANT_SUFFIXES))]
                    yield make_event(
                        ctx,
                        account,
                        sent,
                        prompt=prompt_of(text),
                        category=category,
                        model="frontier-large",
                        tokens=(rng.randint(*profile.input_tokens), rng.randint(*profile.output_tokens)),
                        endpoint=self._address(account),
                        client=account.client,
                        cot=cot,
                        system_prompt_sha=account.system_prompt_sha,
                        tools_sha=account.tools_sha,
                    )

    def _cover_traffic(self, ctx: SimContext, day_start: float, active: list[SimAccount]) -> Iterator[dict]:
        """Ordinary-looking chat mixed in so that per-account category mixes look human."""
        rng = self.rng
        share = self.stealth.normal_traffic
        mean = self.profile.requests_per_account_day * share
        for account in active:
            count = poisson(rng, mean * account.activity)
            for t in human_times(rng, day_start, account.tz_hours, count):
                if t < account.created_at:
                    continue
                category = rng.choice(("chat", "chat", "coding", "other"))
                yield make_event(
                    ctx,
                    account,
                    t,
                    prompt=ctx.pools[category].pick(rng),
                    category=category,
                    model=clients.pick_model(rng),
                    tokens=(rng.randint(30, 900), rng.randint(50, 1200)),
                    endpoint=self._address(account),
                    client=account.client,
                )

    def _address(self, account: SimAccount) -> network.Endpoint:
        index = self._lease[account.account_id] + self.rng.randrange(self._slice_len)
        return self.pool[index % len(self.pool)]
