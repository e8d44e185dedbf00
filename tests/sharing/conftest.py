"""Fixtures of the sharing tests: keys from settings, a community, a confirmed case with events."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import timedelta

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.utils import timezone

from accounts.models import Account
from investigations.models import Case
from tests.accounts.factories import AccountFactory, UsageEventFactory
from tests.investigations.factories import CaseFactory, CaseMembershipFactory
from tests.sharing.factories import SharingCommunityFactory

# A fixed test key: signatures in tests are reproducible, and no key is ever generated on disk.
TEST_SIGNING_KEY = base64.b64encode(bytes(range(32))).decode()
COMMUNITY_KEYS = {"test-2026": "community-secret-for-tests", "aiisac-2026Q2": "example-bundle-key"}
OPERATOR_UA = "harvest-kit/3.1 (+internal)"
OPERATOR_JA4 = "t13d1516h2_8daaf6152771_e5627efa2ab1"
SYSTEM_PROMPT = "a" * 64
TOOLS = "b" * 64


@pytest.fixture(autouse=True)
def _sharing_keys(settings) -> None:
    settings.SHARING_SIGNING_KEY = TEST_SIGNING_KEY
    settings.SHARING_COMMUNITY_KEYS = json.dumps(COMMUNITY_KEYS)
    settings.SHARING_PRODUCER_NAME = "Hydra Watch test lab"


@pytest.fixture
def community(db):
    return SharingCommunityFactory(name="AI-ISAC", key_id="test-2026")


@pytest.fixture
def partner_private_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(bytes(range(100, 132)))


def partner_pem(key: Ed25519PrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


@dataclass
class Scenario:
    case: Case
    operator: list[Account]
    unconfirmed: Account
    bystanders: list[Account]


@pytest.fixture
def confirmed_case(db) -> Scenario:
    """Six operator accounts (confirmed attack) behind two proxy IPs, plus 8 normal accounts sharing a popular UA.

    The operator also uses the popular SDK user agent and the big cloud ASN, which must be withheld.
    """
    now = timezone.now()
    case = CaseFactory(title="Operator HW-0042", resolution=Case.Resolution.CONFIRMED_ATTACK, status=Case.Status.CLOSED)
    operator = []
    for i in range(6):
        acc = AccountFactory(
            email=f"bulk.user+{i}@relay-mail.example",
            payment_fingerprint="pf_shared_card_1",
            signup_ip="203.0.113.17",
            enforcement=Account.Enforcement.BANNED,
        )
        CaseMembershipFactory(case=case, account=acc)
        operator.append(acc)
        for j in range(3):
            UsageEventFactory(
                account=acc,
                ip=f"203.0.113.{17 + (i + j) % 2}",
                asn=64500,
                user_agent=OPERATOR_UA,
                ja4=OPERATOR_JA4,
                system_prompt_sha256=SYSTEM_PROMPT,
                tools_sha256=TOOLS,
                prompt_simhash=-1234567890123,
                prompt_excerpt=f"Think step by step about secret task {i}",
                ts=now - timedelta(days=3, hours=j),
            )
            UsageEventFactory(
                account=acc, ip="198.51.100.9", asn=16509, user_agent="python-httpx/0.27", ts=now - timedelta(days=2)
            )
    unconfirmed = AccountFactory(account_id="acct_unconfirmed_member", email="someone@relay-mail.example")
    case2 = CaseFactory(title="Open case")
    CaseMembershipFactory(case=case2, account=unconfirmed)
    bystanders = []
    for i in range(8):
        acc = AccountFactory(email=f"person{i}@gmail.com")
        UsageEventFactory(account=acc, ip=f"192.0.2.{i}", asn=16509, user_agent="python-httpx/0.27")
        bystanders.append(acc)
    return Scenario(case=case, operator=operator, unconfirmed=unconfirmed, bystanders=bystanders)


@pytest.fixture
def publication(confirmed_case, community, analyst, lead):
    """A published bundle of the confirmed case: requested by an analyst, approved by a lead."""
    from investigations.sharing import services

    requested = services.publication_request(
        cases=[confirmed_case.case], community=community, level="amber", actor=analyst, reason="share with the ISAC"
    )
    return services.publication_approve(publication=requested, actor=lead, reason="looks right")
