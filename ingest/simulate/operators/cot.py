"""The small chain-of-thought elicitation operator: reasoning prompts that ask for every step."""

from __future__ import annotations

import random

from ingest.simulate.operators.base import FlagRule
from ingest.simulate.operators.campaign import CampaignProfile
from ingest.simulate.prompts import ORDINARY_GENERATORS, cot_text


def task(rng: random.Random) -> str:
    return cot_text(ORDINARY_GENERATORS["reasoning"](rng), rng)


PROFILE = CampaignProfile(
    label="chain-of-thought elicitation operator",
    client_name="reasonset-collector",
    task=task,
    categories=(("reasoning", 0.9), ("coding", 0.1)),
    cot_rate=0.92,
    input_tokens=(300, 2000),
    output_tokens=(1500, 8000),
    requests_per_account_day=25,
    fanout=(2, 3),
    shifts=((0, 24),),
    system_prompt=(
        "You are a careful tutor (set {variant}). Before answering, write out your complete chain of thought, "
        "numbering every step, then state the final answer on its own line."
    ),
    tools=lambda variant: [],
    tiers=(("education", "email", 5), ("free", "none", 3), ("build", "email", 1)),
    countries=("SG", "US", "MY", "TH"),
    pool_per_account=0.5,
    residential_share=0.85,
    flags=(FlagRule("cot-elicitation-v3", 0.45, (0.6, 0.98), "most requests ask for full step-by-step reasoning"),),
)
