"""An enterprise pipeline: a few accounts of one org on one cloud, automated, heavy, but ordinary in content.

It looks like a harvester on volume, rhythm and shared values (one org, one
payment, one cloud ASN, one templated system prompt) but never elicits
reasoning and its category mix is a business's, not a distiller's.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

from ingest.simulate import identity, network
from ingest.simulate.clients import Client
from ingest.simulate.operators.base import FlagRule, Operator, SimAccount, SimContext, account_record, make_event
from ingest.simulate.prompts import prompt_of, sha256_text, tool, tools_sha256
from ingest.simulate.traffic import DAY, arrivals

_CATEGORIES = ["chat", "other", "coding", "reasoning"]
_CATEGORY_WEIGHTS = [45, 30, 15, 10]
_JOBS = [
    "Summarize the following support ticket and suggest a reply: customer reports {issue}.",
    "Classify this ticket into billing, shipping, account or technical: {issue}.",
    "Extract order number, product and sentiment from this e-mail: {issue}.",
    "Write release notes for change {n}: {issue} was fixed.",
]
_ISSUES = [
    "a double charge on the last invoice", "a parcel stuck in customs", "a password reset loop",
    "the mobile app crashing on login", "a wrong size delivered", "an export that times out",
]  # fmt: skip


class EnterprisePipeline(Operator):
    kind = "legitimate"

    def __init__(self, op_id: str, *, size: int, period: tuple[float, float], seed: str) -> None:
        super().__init__(op_id, "enterprise pipeline (one org, one cloud, automated)", random.Random(seed))
        rng = self.rng
        name = rng.choice(["acme", "globex", "initech", "umbrella", "stark", "wayne"])
        self.gateways = [network.Endpoint(network.address_in(16509, rng), 16509) for _ in range(rng.randint(2, 3))]
        self.client = Client(
            f"{name}-pipeline/3.{rng.randrange(10)} python-httpx/0.27.0", "t13d1715h2_5b57614c22b0_3d5424432f57"
        )
        system = sha256_text(f"You are {name.title()}'s customer-support assistant. Follow the style guide.")
        harness = tools_sha256([tool("lookup_order", "Look up an order", order_id="string")])
        org, card = f"org_{identity.hex_id(rng, 8)}", identity.payment_fingerprint(rng)
        country = rng.choice(["US", "DE", "GB"])
        for i in range(size):
            account = SimAccount(
                account_id=identity.account_id(rng),
                operator_id=op_id,
                created_at=period[0] - rng.uniform(30, 700) * DAY,
                country=country,
                tz_hours=identity.tz_of(country),
                api_key=identity.api_key_id(rng),
                client=self.client,
                payment=card,
                system_prompt_sha=system,
                tools_sha=harness if i % 2 == 0 else None,
                activity=rng.uniform(0.6, 1.4),
            )
            account.record = account_record(
                account,
                email=f"svc-{name}-{i + 1}@{name}.com",
                org_id=org,
                tier="enterprise",
                verification="id_document",
                country=country,
                payment_fingerprint=card,
                signup_ip=self.gateways[0].ip,
                signup_user_agent=self.client.user_agent,
                status="active",
            )
            self.accounts.append(account)

    def flag_rules(self) -> list[FlagRule]:
        return [FlagRule("volume-anomaly", 0.3, (0.4, 0.8), "steady high volume with large inputs")]

    def day_events(self, ctx: SimContext, day_start: float) -> Iterator[dict]:
        rng = self.rng
        for account in self.active(day_start + DAY):
            # Steady machine traffic, day and night, weekends too.
            for t in arrivals(rng, day_start, day_start + DAY, 4.0 * account.activity):
                text = rng.choice(_JOBS).format(issue=rng.choice(_ISSUES), n=rng.randrange(100, 400))
                yield make_event(
                    ctx,
                    account,
                    t,
                    prompt=prompt_of(text),
                    category=rng.choices(_CATEGORIES, weights=_CATEGORY_WEIGHTS)[0],
                    model="frontier-medium",
                    tokens=(rng.randint(4000, 20000), rng.randint(800, 6000)),
                    endpoint=rng.choice(self.gateways),
                    client=self.client,
                    system_prompt_sha=account.system_prompt_sha,
                    tools_sha=account.tools_sha,
                )
