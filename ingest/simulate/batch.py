"""Putting a simulated batch together: accounts, a day of traffic at a time, alerts, later snapshots."""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from ingest.simulate.alerts import operator_alerts
from ingest.simulate.config import SimConfig
from ingest.simulate.operators.base import Operator, SimContext
from ingest.simulate.population import build_population, vpn_exits
from ingest.simulate.prompts import ordinary_pools
from ingest.simulate.traffic import DAY, rfc3339
from ingest.simulate.writer import BatchWriter, write_truth

PROMPT_POOL_SIZE = 2500


@dataclass(frozen=True)
class SimulationResult:
    out: Path
    truth: Path
    counts: Counter[str]
    accounts: int
    stubs: int
    flagged: int
    operators: Counter[str]  # kind -> number of operators


def simulate(config: SimConfig, *, out: Path, truth: Path) -> SimulationResult:
    """Write the batch to `out` and its ground truth to `truth`; deterministic for `config.seed`."""
    vpn = vpn_exits(config.seed)
    pools = ordinary_pools(random.Random(f"{config.seed}:prompts"), size=PROMPT_POOL_SIZE)
    ctx = SimContext(config, pools, vpn)
    operators = build_population(config, vpn)
    accounts = [a for op in operators for a in op.accounts]
    flagged: set[str] = set()
    seen: set[str] = set()  # accounts with at least one event
    with BatchWriter(out) as writer:
        for account in sorted((a for a in accounts if not a.stub), key=lambda a: (a.created_at, a.account_id)):
            writer.write(account.record)
        for day in range(config.days):
            day_start = config.start_epoch + day * DAY
            for operator in operators:
                for event in operator.day_events(ctx, day_start):
                    seen.add(event["account_id"])
                    writer.write(event)
        alert_rng = random.Random(f"{config.seed}:alerts")
        for operator in operators:
            for alert in operator_alerts(ctx, operator, alert_rng):
                flagged.add(alert["account_id"])
                writer.write(alert)
        for account in accounts:
            # A stub exists only through its events; one that sent nothing gets its record after all.
            if account.stub and account.account_id not in seen:
                account.stub = False
                writer.write(account.record)
        for record in _updated_snapshots(config, operators):
            writer.write(record)

    truth_operators: dict[str, dict] = {}
    for operator in operators:
        truth_operators.update(operator.truth())
    write_truth(
        truth,
        seed=config.seed,
        mix=config.mix.name,
        operators=truth_operators,
        accounts={a.account_id: a.operator_id for a in accounts},
    )
    return SimulationResult(
        out=out,
        truth=truth,
        counts=writer.counts,
        accounts=len(accounts),
        stubs=sum(a.stub for a in accounts),
        flagged=len(flagged),
        operators=Counter(info["kind"] for info in truth_operators.values()),
    )


def _updated_snapshots(config: SimConfig, operators: list[Operator]):
    """A few accounts change during the period: upgrades, and suspensions by the provider.

    A snapshot carries only what changed (plus the required fields), so the
    ingest's "omitted fields keep their values" rule is exercised.
    """
    rng = random.Random(f"{config.seed}:snapshots")
    for operator in operators:
        for account in operator.accounts:
            if account.stub or rng.random() >= 0.01:
                continue
            record = {"type": "account", "account_id": account.account_id, "created_at": rfc3339(account.created_at)}
            if operator.kind == "attacker" and rng.random() < 0.6:
                record["status"] = "suspended"
            elif account.record.get("tier") in ("free", "build"):
                record.update(tier="scale", verification="phone")
            else:
                record["verification"] = "id_document"
            yield record
