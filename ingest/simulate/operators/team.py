"""Small teams: a start-up or a family sharing an org, a card, an office address and their app's prompt.

Ordinary people who legitimately share the strongest linking values at a
small scale, so that "shares a payment fingerprint and a system prompt" is
not on its own proof of a hydra.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

from ingest.simulate import clients, identity, network
from ingest.simulate.operators.base import FlagRule, Operator, SimAccount, SimContext, account_record, make_event
from ingest.simulate.prompts import personal_system_prompt, sha256_text
from ingest.simulate.traffic import DAY, human_times, is_weekend, poisson

_CATEGORIES = ["coding", "chat", "reasoning", "agentic", "other"]
_WEIGHTS = [50, 25, 10, 10, 5]


class SmallTeam(Operator):
    kind = "legitimate"

    def __init__(self, op_id: str, *, size: int, period: tuple[float, float], seed: str) -> None:
        super().__init__(op_id, "small team (shared org, card and office)", random.Random(seed))
        rng = self.rng
        country = identity.country(rng)
        self.tz = identity.tz_of(country)
        self.office = network.residential_endpoint(country, rng) if rng.random() < 0.6 else network.cloud_endpoint(rng)
        domain = identity.company_domain(rng)
        org = f"org_{identity.hex_id(rng, 8)}" if rng.random() < 0.8 else None
        card = identity.payment_fingerprint(rng)
        app_prompt = sha256_text(personal_system_prompt(rng))
        founded = period[0] - rng.uniform(30, 500) * DAY
        for _ in range(size):
            account = SimAccount(
                account_id=identity.account_id(rng),
                operator_id=op_id,
                created_at=founded + rng.uniform(0, 60) * DAY,
                country=country,
                tz_hours=self.tz,
                api_key=identity.api_key_id(rng),
                client=clients.popular_client(rng),
                endpoint=network.residential_endpoint(country, rng),  # home
                payment=card if rng.random() < 0.75 else identity.payment_fingerprint(rng),
                system_prompt_sha=app_prompt if rng.random() < 0.7 else None,
                activity=rng.lognormvariate(0.5, 0.7),
                stub=rng.random() < 0.03,
            )
            account.record = account_record(
                account,
                email=identity.personal_email(rng, domain),
                org_id=org,
                tier=rng.choice(["build", "scale"]),
                verification=rng.choice(["email", "phone", "id_document"]),
                country=country,
                payment_fingerprint=account.payment,
                signup_ip=self.office.ip,
                signup_user_agent=account.client.user_agent,
                status="active",
            )
            self.accounts.append(account)

    def flag_rules(self) -> list[FlagRule]:
        return [FlagRule("shared-payment", 0.08, (0.3, 0.7), "payment instrument used by other accounts")]

    def day_events(self, ctx: SimContext, day_start: float) -> Iterator[dict]:
        rng = self.rng
        weekend = is_weekend(day_start, self.tz)
        for account in self.active(day_start + DAY):
            for t in human_times(rng, day_start, self.tz, poisson(rng, account.activity * (0.3 if weekend else 1.0))):
                if t < account.created_at:
                    continue
                category = rng.choices(_CATEGORIES, weights=_WEIGHTS)[0]
                # Work happens at the office, evenings and weekends at home.
                local_hour = ((t - day_start) / 3600 + self.tz) % 24
                at_office = not weekend and 9 <= local_hour < 18
                yield make_event(
                    ctx,
                    account,
                    t,
                    prompt=ctx.pools[category].pick(rng),
                    category=category,
                    model=clients.pick_model(rng),
                    tokens=(rng.randint(50, 4000), rng.randint(80, 2500)),
                    endpoint=self.office if at_office else account.endpoint,
                    client=account.client,
                    system_prompt_sha=account.system_prompt_sha if category in ("coding", "agentic", "chat") else None,
                )
