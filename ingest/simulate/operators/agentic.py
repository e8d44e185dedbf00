"""The agentic reasoning / tool-use / vision operator: research tiers, datacenter ranges, shift work."""

from __future__ import annotations

import random

from ingest.simulate.operators.base import FlagRule
from ingest.simulate.operators.campaign import CampaignProfile
from ingest.simulate.prompts import tool

_GOALS = [
    "plan a multi-city trip under a budget", "reconcile two spreadsheets of invoices", "book the cheapest flight",
    "find contradictions between two contracts", "derive the closed form of a recurrence", "schedule ten meetings",
    "identify the defect in this circuit photo", "label every object in this warehouse image",
    "prove the inequality with a calculator check", "compare three research papers and rank them",
]  # fmt: skip


def task(rng: random.Random) -> str:
    return (
        f"Task {rng.randrange(10000, 99999)}: {rng.choice(_GOALS)}. Use the available tools, reason about each "
        "intermediate result, and return a final JSON answer with your full reasoning trace."
    )


def tools(variant: int) -> list[dict]:
    return [
        tool("web_search", "Search the web", query="string"),
        tool("python", "Execute Python code", code="string"),
        tool("describe_image", "Describe an image", url="string"),
        tool("calendar", "Create or list calendar events", action="string", payload="string"),
        tool("submit", f"Submit the final answer (schema v{variant + 1})", answer="string"),
    ]


PROFILE = CampaignProfile(
    label="agentic reasoning / tool-use / vision operator (shift work)",
    client_name="tasklab-client",
    task=task,
    categories=(("agentic", 0.4), ("reasoning", 0.3), ("vision", 0.2), ("coding", 0.1)),
    cot_rate=0.3,
    input_tokens=(1500, 12000),
    output_tokens=(2000, 12000),
    requests_per_account_day=18,
    fanout=(2, 3),
    shifts=((1, 9), (10, 18)),  # two synchronized shifts, UTC
    system_prompt=(
        "You are a meticulous research agent (template r{variant}). Solve the task with tools, explain each "
        "step of your reasoning in detail, and never omit intermediate results."
    ),
    tools=tools,
    tiers=(("research", "none", 4), ("education", "email", 4), ("build", "email", 2)),
    countries=("SG", "HK", "US", "KR", "MY"),
    pool_per_account=0.15,
    residential_share=0.15,
    flags=(
        FlagRule("volume-anomaly", 0.15, (0.5, 0.9), "sustained high volume on a research tier"),
        FlagRule("agentic-scraping", 0.15, (0.55, 0.92), "tool-use traffic with scripted task numbering"),
    ),
    weekend_factor=0.5,
)
