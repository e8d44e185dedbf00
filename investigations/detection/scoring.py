"""Risk score 0-1 of a case, with the reasons, from what sets distillation apart from heavy legitimate use.

A university lab or an enterprise pipeline also runs many accounts, heavy
volume and scripted traffic; what a distillation operator adds is *harvesting*
(asking for the reasoning, targeting capabilities far from ordinary use,
pulling output tokens) and *hiding* (many cards, rotating proxy pools, bursts
of throw-away sign-ups, thin verification on discounted tiers). Each factor
is a value in 0..1 times a weight; institutional facts (verified
institution/ID, one organisation paying for its own accounts) subtract. Every
factor, positive or negative, becomes a reason the case page shows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from django.db.models import Sum

from accounts.models import Account
from investigations.detection.models import AccountFeatures

CATEGORY_NAMES = ("chat", "coding", "agentic", "reasoning", "vision", "other")


@dataclass(frozen=True)
class Baseline:
    """The all-accounts reference the case is compared with."""

    category_mix: tuple[float, ...]
    output_per_account: float
    cot_share: float


def baseline_compute() -> Baseline:
    """Category mix, CoT share and output tokens per account over every account with features."""
    sums = AccountFeatures.objects.aggregate(
        n=Sum("events"), out=Sum("output_tokens"), cot=Sum("cot_events"),
        **{name: Sum(name) for name in AccountFeatures.CATEGORY_FIELDS},
    )  # fmt: skip
    accounts = max(AccountFeatures.objects.count(), 1)
    cats = [sums[name] or 0 for name in AccountFeatures.CATEGORY_FIELDS]
    total = sum(cats) or 1
    return Baseline(
        category_mix=tuple(c / total for c in cats),
        output_per_account=(sums["out"] or 0) / accounts,
        cot_share=(sums["cot"] or 0) / max(sums["n"] or 0, 1),
    )


def _clamp(x: float) -> float:
    return max(0.0, min(1.0, x))


def _night_share(hours: list[int]) -> float:
    """Share of an account's requests in its own 8 quietest hours: ~0.05 for a person, ~1/3 for a machine."""
    total = sum(hours)
    if total < 24:
        return 0.0
    return sum(sorted(hours)[:8]) / total


def _reason(factor: str, weight: float, value: float, text: str) -> dict:
    return {"factor": factor, "weight": round(weight, 3), "value": round(value, 3), "text": text}


def score_case(*, accounts: list[Account], features: list[AccountFeatures], baseline: Baseline) -> tuple[float, list]:
    """(score 0..1, reasons sorted by impact) for the accounts of one case."""
    n = max(len(accounts), 1)
    events = sum(f.events for f in features)
    reasons: list[dict] = []

    cot = sum(f.cot_events for f in features) / events if events else 0.0
    reasons.append(
        _reason(
            "cot_elicitation",
            0.25 * _clamp((cot - 0.1) / 0.5),
            cot,
            f"{cot:.0%} of requests ask for step-by-step reasoning (all accounts: {baseline.cot_share:.0%})",
        )
    )

    cats = [sum(f.category_counts[i] for f in features) for i in range(len(CATEGORY_NAMES))]
    total_cats = sum(cats)
    if total_cats:
        mix = [c / total_cats for c in cats]
        distance = 0.5 * sum(abs(m - b) for m, b in zip(mix, baseline.category_mix, strict=True))
        top = max(range(len(mix)), key=lambda i: mix[i])
        reasons.append(
            _reason(
                "capability_targeting",
                0.15 * _clamp((distance - 0.1) / 0.35),
                distance,
                f"category mix {distance:.0%} away from all accounts; {mix[top]:.0%} {CATEGORY_NAMES[top]} "
                f"(all accounts: {baseline.category_mix[top]:.0%})",
            )
        )

    out_per_account = sum(f.output_tokens for f in features) / n
    ratio = out_per_account / baseline.output_per_account if baseline.output_per_account else 0.0
    reasons.append(
        _reason(
            "harvested_output",
            0.1 * _clamp(math.log2(ratio) / 3) if ratio > 1 else 0.0,
            ratio,
            f"{out_per_account:,.0f} output tokens per account, {ratio:.1f}x the all-accounts average",
        )
    )

    orgs = {a.org_id for a in accounts if a.org_id}
    one_org = len(orgs) == 1 and all(a.org_id for a in accounts)
    cards = [a.payment_fingerprint for a in accounts if a.payment_fingerprint]
    per_card = len(cards) / len(set(cards)) if cards else 0.0
    if one_org and per_card > 1:
        reasons.append(
            _reason("payment_reuse", 0.0, per_card, "one organisation pays for its own accounts (expected for a team)")
        )
    else:
        reasons.append(
            _reason(
                "payment_reuse",
                0.15 * _clamp((per_card - 1) / 4),
                per_card,
                f"{len(set(cards))} payment instruments for {len(cards)} accounts ({per_card:.1f} accounts per card)",
            )
        )

    ips = sum(f.distinct_ips for f in features) / n
    asns = sum(f.distinct_asns for f in features) / n
    reasons.append(
        _reason(
            "proxy_rotation",
            0.1 * _clamp((ips - 3) / 12) + 0.05 * _clamp((asns - 2) / 6),
            ips,
            f"{ips:.1f} client IPs and {asns:.1f} ASNs per account",
        )
    )

    signups = sorted(a.created_at for a in accounts if a.created_at)
    bursty = 0
    for i, ts in enumerate(signups):
        near = (i > 0 and (ts - signups[i - 1]).total_seconds() < 3600) or (
            i + 1 < len(signups) and (signups[i + 1] - ts).total_seconds() < 3600
        )
        bursty += near
    burst_share = bursty / len(signups) if len(signups) >= 3 else 0.0
    reasons.append(
        _reason(
            "bursty_signups",
            0.1 * _clamp((burst_share - 0.2) / 0.6),
            burst_share,
            f"{burst_share:.0%} of accounts signed up within an hour of another account of the case",
        )
    )

    discounted = [a for a in accounts if a.tier in (Account.Tier.EDUCATION, Account.Tier.RESEARCH)]
    thin = [a for a in discounted if a.verification in ("", Account.Verification.NONE, Account.Verification.EMAIL)]
    thin_share = len(thin) / n
    reasons.append(
        _reason(
            "thin_verification",
            0.1 * _clamp(thin_share / 0.5),
            thin_share,
            f"{len(thin)} of {len(accounts)} accounts on education/research tiers with at most e-mail verification",
        )
    )

    rhythm = [_night_share(f.hours) for f in features if f.events >= 24]
    night = sum(rhythm) / len(rhythm) if rhythm else 0.0
    reasons.append(
        _reason(
            "machine_rhythm",
            0.1 * _clamp((night - 0.12) / 0.15),
            night,
            f"{night:.0%} of requests in each account's 8 quietest hours (a person: ~5%, round the clock: 33%)",
        )
    )

    strong = (Account.Verification.INSTITUTION, Account.Verification.ID_DOCUMENT)
    verified = [a for a in accounts if a.verification in strong]
    verified_share = len(verified) / n
    if verified_share:
        reasons.append(
            _reason(
                "verified_identity",
                -0.25 * verified_share,
                verified_share,
                f"{verified_share:.0%} of accounts verified by institution or ID document",
            )
        )
    if one_org:
        reasons.append(
            _reason(
                "single_organisation",
                -0.1,
                1.0,
                f"all {len(accounts)} accounts belong to one organisation, openly",
            )
        )

    score = _clamp(sum(r["weight"] for r in reasons))
    reasons.sort(key=lambda r: -abs(r["weight"]))
    return round(score, 3), reasons
