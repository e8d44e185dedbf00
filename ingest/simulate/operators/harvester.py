"""The large agentic-coding harvester: thousands of accounts, proxy pool, huge outputs, round the clock."""

from __future__ import annotations

import random

from ingest.simulate.operators.base import FlagRule
from ingest.simulate.operators.campaign import CampaignProfile
from ingest.simulate.prompts import tool

_FEATURES = [
    "pagination for the list endpoint", "a retry policy with jitter", "an LRU cache", "a CSV export",
    "input validation for the signup form", "a rate limiter", "a plugin loader", "structured logging",
    "a migration that splits the users table", "OAuth2 login", "a websocket notifier", "fuzzy search",
    "a priority queue", "a config file parser", "an audit trail", "a diff viewer", "a B-tree index",
]  # fmt: skip
_LANGS = ["Python", "TypeScript", "Rust", "Go", "Java", "C++", "Kotlin"]
_TESTS = ["test_roundtrip", "test_empty_input", "test_concurrency", "test_unicode", "test_large_file", "test_timeout"]


def task(rng: random.Random) -> str:
    repo = f"{rng.choice(['acme', 'nova', 'orbit', 'delta', 'lumen', 'vertex'])}-{rng.randrange(100, 999)}"
    return (
        f"Implement {rng.choice(_FEATURES)} in the {rng.choice(_LANGS)} repository {repo}. "
        f"The failing test is {rng.choice(_TESTS)}. Read the relevant files, write the full implementation, "
        "run the tests, and explain every change you made."
    )


def tools(variant: int) -> list[dict]:
    harness = [
        tool("read_file", "Read a file from the workspace", path="string"),
        tool("write_file", "Write a file in the workspace", path="string", content="string"),
        tool("run_tests", "Run the test suite and return the output", selector="string"),
        tool("bash", "Run a shell command in the sandbox", command="string"),
    ]
    if variant % 2:
        harness.append(tool("search_code", "Search the repository", query="string"))
    return harness


PROFILE = CampaignProfile(
    label="agentic-coding harvester (proxy pool, templated harness)",
    client_name="agent-runner",
    task=task,
    categories=(("coding", 0.6), ("agentic", 0.35), ("other", 0.05)),
    cot_rate=0.04,
    input_tokens=(3000, 40000),
    output_tokens=(6000, 32000),
    requests_per_account_day=15,
    fanout=(2, 4),
    shifts=((0, 24),),
    system_prompt=(
        "You are an autonomous senior software engineer working in a sandboxed repository (worker pool {variant}). "
        "Always think through the problem, call the tools to inspect files, and produce complete, runnable code."
    ),
    tools=tools,
    tiers=(("build", "email", 6), ("scale", "phone", 3), ("free", "none", 2)),
    countries=("US", "SG", "HK", "GB", "DE", "MY", "VN"),
    pool_per_account=0.35,
    residential_share=0.7,
    flags=(
        FlagRule("volume-anomaly", 0.2, (0.55, 0.97), "output tokens far above the tier's norm"),
        FlagRule("proxy-rotation", 0.12, (0.5, 0.9), "client address changed on most requests"),
        FlagRule("shared-payment", 0.06, (0.6, 0.95), "payment instrument used by other accounts"),
    ),
)
