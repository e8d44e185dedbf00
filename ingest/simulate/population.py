"""Who is in the batch: the cast of operators for a config, sized by the mix's shares."""

from __future__ import annotations

import random

from ingest.simulate import network
from ingest.simulate.config import SimConfig
from ingest.simulate.operators import agentic, cot, harvester
from ingest.simulate.operators.base import Operator
from ingest.simulate.operators.campaign import Campaign, CampaignProfile
from ingest.simulate.operators.enterprise import EnterprisePipeline
from ingest.simulate.operators.ordinary import OrdinaryUsers
from ingest.simulate.operators.team import SmallTeam
from ingest.simulate.operators.university import UniversityLab

PROFILES: dict[str, CampaignProfile] = {"harvester": harvester.PROFILE, "agentic": agentic.PROFILE, "cot": cot.PROFILE}
MIN_ORDINARY_SHARE = 0.1


def build_population(config: SimConfig, vpn: list[network.Endpoint]) -> list[Operator]:
    """Every operator of the run; each gets its own seeded RNG, so adding one never reshuffles the others."""
    n, mix, seed = config.accounts, config.mix, config.seed
    period = (config.start_epoch, config.end_epoch)
    operators: list[Operator] = []
    counters: dict[str, int] = {}

    def next_id(kind: str) -> str:
        counters[kind] = counters.get(kind, 0) + 1
        return f"op-{kind}-{counters[kind]}"

    for profile_name, share in mix.attackers:
        op_id = next_id(profile_name)
        size = max(4, round(share * n))
        operators.append(
            Campaign(
                op_id, PROFILES[profile_name], size=size, stealth=mix.stealth, period=period, seed=f"{seed}:{op_id}"
            )
        )
    for share in mix.university_labs:
        op_id = next_id("university")
        operators.append(UniversityLab(op_id, size=max(6, round(share * n)), period=period, seed=f"{seed}:{op_id}"))
    for share in mix.enterprises:
        op_id = next_id("enterprise")
        operators.append(
            EnterprisePipeline(op_id, size=max(3, round(share * n)), period=period, seed=f"{seed}:{op_id}")
        )

    team_rng = random.Random(f"{seed}:teams")
    in_teams = round(mix.team_share * n)
    while in_teams >= 2:
        op_id = next_id("team")
        size = min(in_teams, team_rng.randint(2, 6))
        operators.append(SmallTeam(op_id, size=size, period=period, seed=f"{seed}:{op_id}"))
        in_teams -= size

    ordinary = n - sum(len(op.accounts) for op in operators)
    if ordinary < MIN_ORDINARY_SHARE * n:
        raise ValueError(f"--accounts {n} is too small for mix {mix.name!r}; use at least {_minimum(config)}")
    operators.append(
        OrdinaryUsers(
            size=ordinary,
            period=period,
            vpn=vpn,
            vpn_share=mix.vpn_share,
            false_positive=mix.ordinary_false_positive,
            seed=f"{seed}:ordinary",
        )
    )
    return operators


def _minimum(config: SimConfig) -> int:
    fixed = 4 * len(config.mix.attackers) + 6 * len(config.mix.university_labs) + 3 * len(config.mix.enterprises)
    return int(fixed / (1 - MIN_ORDINARY_SHARE)) + 1


def vpn_exits(seed: int) -> list[network.Endpoint]:
    return network.vpn_exits(random.Random(f"{seed}:vpn"))
