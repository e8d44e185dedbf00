"""A university lab: many education accounts behind one NAT address, one org, institution-verified.

It shares more values than most attackers (one IP, one org, one e-mail
domain, sign-ups at semester start, often one payment) but its traffic is
human: daytime, weekdays, varied questions. Clustering it is right; calling
it high risk is not.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

from ingest.simulate import clients, identity, network
from ingest.simulate.operators.base import FlagRule, Operator, SimAccount, SimContext, account_record, make_event
from ingest.simulate.prompts import cot_text, prompt_of
from ingest.simulate.traffic import DAY, human_times, is_weekend, poisson

_CATEGORIES = ["coding", "reasoning", "chat", "vision", "agentic", "other"]
_CATEGORY_WEIGHTS = [35, 25, 20, 10, 5, 5]
_CAMPUSES = [("DE", "tu-rheinland.de"), ("US", "lakeshore.edu"), ("GB", "northvale.ac.uk"), ("NL", "uva-delta.nl")]


class UniversityLab(Operator):
    kind = "legitimate"

    def __init__(self, op_id: str, *, size: int, period: tuple[float, float], seed: str) -> None:
        super().__init__(op_id, "university lab (one NAT, institution-verified)", random.Random(seed))
        rng = self.rng
        self.country, domain = _CAMPUSES[rng.randrange(len(_CAMPUSES))]
        self.tz = identity.tz_of(self.country)
        asn = rng.choice(network.EDUCATION_ASNS)
        self.nat = network.Endpoint(network.address_in(asn, rng), asn)
        org = f"org_{identity.hex_id(rng, 8)}"
        campus_card = identity.payment_fingerprint(rng)
        semester = period[0] - rng.uniform(20, 90) * DAY
        for _ in range(size):
            created = (
                semester + rng.uniform(0, 10) * DAY if rng.random() < 0.7 else period[0] - rng.uniform(0, 400) * DAY
            )
            account = SimAccount(
                account_id=identity.account_id(rng),
                operator_id=op_id,
                created_at=created,
                country=self.country,
                tz_hours=self.tz,
                api_key=identity.api_key_id(rng),
                client=clients.popular_client(rng),
                endpoint=self.nat,
                payment=campus_card if rng.random() < 0.6 else None,
                activity=rng.lognormvariate(0, 0.6),
                stub=rng.random() < 0.03,
            )
            account.record = account_record(
                account,
                email=identity.personal_email(rng, domain),
                org_id=org,
                tier="education" if rng.random() < 0.8 else "research",
                verification="institution",
                country=self.country,
                payment_fingerprint=account.payment,
                signup_ip=self.nat.ip,
                signup_user_agent=account.client.user_agent,
                status="active",
            )
            self.accounts.append(account)

    def flag_rules(self) -> list[FlagRule]:
        return [
            FlagRule("shared-ip", 0.12, (0.3, 0.7), "many accounts behind one address"),
            FlagRule("cot-elicitation-v3", 0.04, (0.3, 0.6), "some requests ask for step-by-step reasoning"),
        ]

    def day_events(self, ctx: SimContext, day_start: float) -> Iterator[dict]:
        rng = self.rng
        factor = 0.15 if is_weekend(day_start, self.tz) else 1.0
        for account in self.active(day_start + DAY):
            for t in human_times(rng, day_start, self.tz, poisson(rng, 7 * factor * account.activity)):
                if t < account.created_at:
                    continue
                category = rng.choices(_CATEGORIES, weights=_CATEGORY_WEIGHTS)[0]
                prompt = ctx.pools[category].pick(rng)
                cot = category == "reasoning" and rng.random() < 0.15
                if cot:
                    prompt = prompt_of(cot_text(prompt.excerpt, rng))
                yield make_event(
                    ctx,
                    account,
                    t,
                    prompt=prompt,
                    category=category,
                    model=clients.pick_model(rng),
                    tokens=(rng.randint(40, 3000), rng.randint(80, 2500)),
                    endpoint=self.nat,
                    client=account.client,
                    cot=cot,
                )
