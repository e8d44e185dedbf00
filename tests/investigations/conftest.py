"""A small linked case with events and alerts, shared by the dashboard's view, service and browser tests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import Account, UsageEvent
from investigations.models import Alert, Case, CaseMembership
from tests.accounts.factories import AccountFactory
from tests.investigations.factories import AlertFactory, CaseFactory


@dataclass
class Scenario:
    case: Case
    accounts: list[Account]
    alerts: list[Alert]
    loose_alerts: list[Alert]


def build_scenario(*, accounts: int = 6, events_per_account: int = 12, prefix: str = "acct_s") -> Scenario:
    """One operator: accounts sharing a payment card and a proxy IP, CoT-heavy traffic, one alert each.

    Plus three accounts in no case with new alerts (the queue's work).
    """
    now = timezone.now()
    case = CaseFactory(
        title="Operator using proxy pool 203.0.113.0/24",
        risk_score=0.86,
        risk_reasons=[
            {"factor": "cot_elicitation", "weight": 0.3, "value": 0.8, "text": "80% of requests ask for CoT"},
            {"factor": "shared_payment", "weight": 0.4, "value": 1.0, "text": "One payment card across every account"},
        ],
    )  # fmt: skip
    members = []
    for i in range(accounts):
        account = AccountFactory(
            account_id=f"{prefix}{i:03d}",
            payment_fingerprint="pf_shared_card",
            signup_ip=f"203.0.113.{10 + i}",
            email=f"li.wei{i}@mail.example",
            flagged_at=now if i % 2 == 0 else None,
        )
        members.append(account)
        CaseMembership.objects.create(
            case=case,
            account=account,
            link_strength=0.9 - i * 0.05,
            evidence=[
                {
                    "signal": "payment",
                    "value": "pf_shared_card",
                    "weight": 0.9,
                    "text": "Same payment card as 5 others",
                },
                {"signal": "ip", "value": "198.51.100.7", "weight": 0.6, "text": "Requests from proxy 198.51.100.7"},
            ],
        )
    UsageEvent.objects.bulk_create(
        [
            UsageEvent(
                event_id=f"evt_{prefix}_{a.pk}_{j}",
                account=a,
                ts=now - timedelta(hours=j * 5),
                ip="198.51.100.7",
                category=[UsageEvent.Category.REASONING, UsageEvent.Category.CODING][j % 2],
                cot_requested=j % 3 != 0,
                output_tokens=1000 + j,
                input_tokens=300,
                prompt_excerpt=f"Explain step by step how to solve problem {j}",
            )
            for a in members
            for j in range(events_per_account)
        ]
    )
    alerts = [
        AlertFactory(account=a, case=case, detector="cot-elicitation-v3", score=0.9, severity=Alert.Severity.HIGH)
        for a in members[::2]
    ]
    loose = [
        AlertFactory(
            account=AccountFactory(account_id=f"{prefix}_loose{i}", flagged_at=now),
            detector="volume-anomaly",
            score=0.5 + i * 0.1,
            severity=Alert.Severity.MEDIUM,
        )
        for i in range(3)
    ]
    return Scenario(case=case, accounts=members, alerts=alerts, loose_alerts=loose)


@pytest.fixture
def scenario(db) -> Scenario:
    return build_scenario()
