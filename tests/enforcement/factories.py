"""Helpers to build cases of many accounts for enforcement tests."""

from __future__ import annotations

from django.utils import timezone

from accounts.models import Account
from investigations.models import Case, CaseMembership
from tests.investigations.factories import CaseFactory


def make_case(*, flagged: int, linked: int = 0, prefix: str = "hx") -> Case:
    """A case with `flagged` flagged accounts and `linked` accounts linked to them but not flagged (bulk)."""
    case = CaseFactory()
    now = timezone.now()
    accounts = Account.objects.bulk_create(
        [
            Account(account_id=f"{prefix}_{case.pk}_{i:05d}", flagged_at=now if i < flagged else None)
            for i in range(flagged + linked)
        ]
    )
    CaseMembership.objects.bulk_create(
        [
            CaseMembership(case=case, account=a, evidence=[{"signal": "payment", "text": "Shares card pf_1 with 40"}])
            for a in accounts
        ]
    )
    return case
