"""What to simulate: size, period, seed and the population mix.

A mix says how large each kind of operator is, as a share of all accounts,
and how careful the attackers are. Shares scale with `--accounts`, so a
300-account test batch and a 24,000-account benchmark batch hold the same
cast in the same proportions.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

MIN_ACCOUNTS = 60


@dataclass(frozen=True)
class Stealth:
    """How hard the attackers try to look ordinary."""

    normal_traffic: float = 0.12  # share of an attacker account's requests that are ordinary chat
    pool_factor: float = 1.0  # proxy pool size relative to the default
    payment_cell: tuple[int, int] = (6, 30)  # accounts per shared payment instrument
    harness_variants: int = 2  # distinct system prompts / tool harnesses per operator
    signal_coverage: float = 0.8  # chance an account carries each shared signal
    burst_share: float = 0.7  # accounts created in sign-up bursts with one e-mail pattern
    flagged_share: float = 1.0  # multiplier on the share of accounts upstream detectors flag


@dataclass(frozen=True)
class Mix:
    """The cast: attacker operators (profile name, share of accounts) and legitimate look-alikes."""

    name: str
    description: str
    attackers: list[tuple[str, float]]
    university_labs: list[float] = field(default_factory=lambda: [0.02])
    enterprises: list[float] = field(default_factory=lambda: [0.004])
    team_share: float = 0.03  # accounts in small teams (2-6 people sharing org, card, office)
    stealth: Stealth = field(default_factory=Stealth)
    ordinary_false_positive: float = 0.015  # ordinary users flagged by noisy detectors
    vpn_share: float = 0.05  # ordinary users behind one of a few shared VPN exits


MIXES: dict[str, Mix] = {
    mix.name: mix
    for mix in [
        Mix(
            name="default",
            description="one large agentic-coding harvester, one agentic/reasoning operator, one small CoT operator",
            attackers=[("harvester", 0.25), ("agentic", 0.08), ("cot", 0.015)],
        ),
        Mix(
            name="few-large",
            description="one operator with most of the attacking accounts (thousands at full size)",
            attackers=[("harvester", 0.55), ("agentic", 0.04), ("cot", 0.01)],
        ),
        Mix(
            name="many-small",
            description="a dozen small attacker operators of every kind",
            attackers=[("harvester", 0.035)] * 5 + [("agentic", 0.025)] * 4 + [("cot", 0.012)] * 4,
        ),
        Mix(
            name="stealthy",
            description="attackers mix in much more normal traffic, rotate more and share fewer values",
            attackers=[("harvester", 0.2), ("agentic", 0.07), ("cot", 0.015)],
            stealth=Stealth(
                normal_traffic=0.45,
                pool_factor=3.0,
                payment_cell=(2, 4),
                harness_variants=6,
                signal_coverage=0.45,
                burst_share=0.3,
                flagged_share=0.5,
            ),
        ),
        Mix(
            name="noisy-legit",
            description="more legitimate look-alikes (labs, pipelines, VPN users) and noisier detectors",
            attackers=[("harvester", 0.15), ("agentic", 0.05), ("cot", 0.012)],
            university_labs=[0.03, 0.025, 0.015],
            enterprises=[0.008, 0.006, 0.004],
            team_share=0.08,
            ordinary_false_positive=0.05,
            vpn_share=0.15,
        ),
    ]
}

DEFAULT_START = dt.date(2026, 1, 5)  # a Monday; a fixed date keeps the output deterministic


@dataclass(frozen=True)
class SimConfig:
    accounts: int
    days: int
    seed: int
    mix: Mix
    start: dt.date = DEFAULT_START

    @property
    def start_epoch(self) -> float:
        return dt.datetime(self.start.year, self.start.month, self.start.day, tzinfo=dt.UTC).timestamp()

    @property
    def end_epoch(self) -> float:
        return self.start_epoch + self.days * 86400


def build_config(
    *, accounts: int, days: int, seed: int, mix: str = "default", start: dt.date | None = None
) -> SimConfig:
    """Validate the options once, with messages a command-line user can act on."""
    if mix not in MIXES:
        raise ValueError(f"unknown mix {mix!r}; choose one of: {', '.join(MIXES)}")
    if accounts < MIN_ACCOUNTS:
        raise ValueError(f"--accounts must be at least {MIN_ACCOUNTS} (every kind of operator needs a few)")
    if not 1 <= days <= 366:
        raise ValueError("--days must be between 1 and 366")
    return SimConfig(accounts=accounts, days=days, seed=seed, mix=MIXES[mix], start=start or DEFAULT_START)
