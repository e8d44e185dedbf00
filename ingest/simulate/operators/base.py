"""What every simulated operator has: accounts, their records, a day's events, upstream flags."""

from __future__ import annotations

import abc
import hashlib
import random
from collections.abc import Iterator
from dataclasses import dataclass, field

from ingest.simulate.clients import Client
from ingest.simulate.config import SimConfig
from ingest.simulate.network import Endpoint
from ingest.simulate.prompts import Prompt, PromptPool
from ingest.simulate.traffic import rfc3339


@dataclass
class SimAccount:
    """One simulated account and the habits its operator gives it."""

    account_id: str
    operator_id: str
    created_at: float
    country: str
    tz_hours: float
    api_key: str
    client: Client
    endpoint: Endpoint | None = None  # home address, for accounts that have one
    payment: str | None = None
    system_prompt_sha: str | None = None
    tools_sha: str | None = None
    activity: float = 1.0  # relative request volume
    stub: bool = False  # seen only through its events: no account record is written
    record: dict = field(default_factory=dict)


@dataclass(frozen=True)
class FlagRule:
    """An upstream detector that flags a share of an operator's accounts."""

    detector: str
    share: float
    scores: tuple[float, float]
    summary: str


class SimContext:
    """Run-wide state: the config, shared prompt pools, shared VPN exits and record ids."""

    def __init__(self, config: SimConfig, pools: dict[str, PromptPool], vpn: list[Endpoint]) -> None:
        self.config = config
        self.pools = pools
        self.vpn = vpn
        self._events = 0
        self._alerts = 0
        self._id_salt = f"{config.seed}".encode()

    def event_id(self) -> str:
        # Hashed, so neither the order nor the numbering of ids reveals who sent a request.
        self._events += 1
        digest = hashlib.blake2b(self._id_salt + self._events.to_bytes(8, "big"), digest_size=10).hexdigest()
        return f"req_{digest}"

    def alert_id(self) -> str:
        self._alerts += 1
        return f"al_{self.config.seed}_{self._alerts:07d}"


def make_event(
    ctx: SimContext,
    account: SimAccount,
    t: float,
    *,
    prompt: Prompt,
    category: str,
    model: str,
    tokens: tuple[int, int],
    endpoint: Endpoint | None,
    client: Client,
    cot: bool = False,
    system_prompt_sha: str | None = None,
    tools_sha: str | None = None,
) -> dict:
    """One `event` record with only the fields the gateway knows."""
    event: dict[str, object] = {
        "type": "event",
        "event_id": ctx.event_id(),
        "account_id": account.account_id,
        "ts": rfc3339(t),
        "api_key_id": account.api_key,
    }
    if endpoint is not None:
        event["ip"] = endpoint.ip
        event["asn"] = endpoint.asn
    event.update(
        user_agent=client.user_agent,
        ja4=client.ja4,
        model=model,
        input_tokens=tokens[0],
        output_tokens=tokens[1],
        category=category,
        cot_requested=cot,
    )
    if system_prompt_sha:
        event["system_prompt_sha256"] = system_prompt_sha
    if tools_sha:
        event["tools_sha256"] = tools_sha
    if prompt.simhash:
        event["prompt_simhash"] = prompt.simhash
    event["prompt_excerpt"] = prompt.excerpt
    return event


def account_record(account: SimAccount, **fields: object) -> dict:
    """An `account` snapshot; empty optional fields are left out as upstream would."""
    record: dict = {"type": "account", "account_id": account.account_id, "created_at": rfc3339(account.created_at)}
    record.update({k: v for k, v in fields.items() if v not in (None, "")})
    return record


class Operator(abc.ABC):
    """Whoever controls a set of accounts; subclasses say how those accounts behave."""

    kind: str  # "attacker", "legitimate" or "ordinary" (the truth file's vocabulary)

    def __init__(self, op_id: str, label: str, rng: random.Random) -> None:
        self.op_id = op_id
        self.label = label
        self.rng = rng
        self.accounts: list[SimAccount] = []

    @abc.abstractmethod
    def day_events(self, ctx: SimContext, day_start: float) -> Iterator[dict]:
        """Yield this operator's requests on the UTC day starting at `day_start`."""

    def flag_rules(self) -> list[FlagRule]:
        """Detectors that flag some of this operator's accounts; none by default."""
        return []

    def truth(self) -> dict[str, dict]:
        """op_id -> {kind, label, accounts} for the ground-truth file."""
        return {self.op_id: {"kind": self.kind, "label": self.label, "accounts": len(self.accounts)}}

    def active(self, day_end: float) -> list[SimAccount]:
        return [a for a in self.accounts if a.created_at < day_end]
