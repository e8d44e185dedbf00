"""Risk scores: attackers high, the university lab and the enterprise pipeline low, and every score explained."""

from __future__ import annotations

import pytest

from investigations.detection.services import detection_run
from investigations.models import CaseMembership
from tests.detection.scenario import build_world

pytestmark = pytest.mark.django_db


def test_attackers_score_high_and_legitimate_operators_low_with_reasons():
    build_world()
    detection_run(full=True)
    memberships = CaseMembership.objects.select_related("case", "account")
    cases = {m.account.account_id.split("_")[1]: m.case for m in memberships}
    for attacker in ("alpha", "bravo"):
        assert cases[attacker].risk_score >= 0.6
        factors = {r["factor"] for r in cases[attacker].risk_reasons if r["weight"] > 0}
        assert {"cot_elicitation", "capability_targeting", "payment_reuse", "bursty_signups"} <= factors
    for legit in ("uni", "ent"):
        assert cases[legit].risk_score <= 0.2
        reasons = {r["factor"]: r for r in cases[legit].risk_reasons}
        assert reasons["verified_identity"]["weight"] < 0 and reasons["single_organisation"]["weight"] < 0
        assert all(r["text"] for r in cases[legit].risk_reasons)
    assert any("one organisation pays" in r["text"] for r in cases["ent"].risk_reasons)
