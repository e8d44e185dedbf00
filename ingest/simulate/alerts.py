"""Upstream detectors' flags: each flags only a share of an operator's accounts.

The unflagged rest are the hydra's other heads that Hydra Watch has to find
through what they share. Legitimate look-alikes and ordinary users get flagged
too (false positives), with scores that overlap the attackers'.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

from ingest.simulate.operators.base import Operator, SimContext
from ingest.simulate.traffic import rfc3339


def severity(score: float) -> str:
    if score >= 0.9:
        return "critical"
    if score >= 0.75:
        return "high"
    if score >= 0.5:
        return "medium"
    return "low"


def operator_alerts(ctx: SimContext, operator: Operator, rng: random.Random) -> Iterator[dict]:
    """Alerts for one operator: per rule, a random share of its accounts (at least one if the share is > 0)."""
    start, end = ctx.config.start_epoch, ctx.config.end_epoch
    for rule in operator.flag_rules():
        eligible = [a for a in operator.accounts if a.created_at < end - 3600]
        if not eligible or rule.share <= 0:
            continue
        count = min(len(eligible), max(1, round(rule.share * len(eligible))))
        for account in rng.sample(eligible, count):
            earliest = max(start, account.created_at) + 3600
            score = round(rng.uniform(*rule.scores), 3)
            yield {
                "type": "alert",
                "alert_id": ctx.alert_id(),
                "account_id": account.account_id,
                "detector": rule.detector,
                "score": score,
                "raised_at": rfc3339(rng.uniform(earliest, max(earliest, end - 60))),
                "severity": severity(score),
                "summary": rule.summary,
            }
