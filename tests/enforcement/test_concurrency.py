"""Two leads approving the same action at the same moment apply it once; a decided action stays decided."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from investigations.enforcement import services
from investigations.enforcement.models import EnforcementAction, EnforcementChange
from investigations.models import AuditEntry
from tests.accounts.factories import AccountFactory

pytestmark = pytest.mark.django_db(transaction=True)


def _pending(analyst, settings, n: int = 3) -> EnforcementAction:
    settings.ENFORCEMENT_APPROVAL_THRESHOLD = 1
    accounts = AccountFactory.create_batch(n)
    action = services.action_request(actor=analyst, kind="ban", reason="hydra", accounts=[a.pk for a in accounts])
    assert action.status == EnforcementAction.Status.PENDING_APPROVAL
    return action


def test_two_simultaneous_approvals_apply_the_action_once(analyst, lead, lead2, settings):
    action = _pending(analyst, settings)
    start = threading.Barrier(2)
    outcomes: dict[str, object] = {}

    def approve(actor) -> None:
        try:
            start.wait(timeout=10)
            outcomes[actor.username] = services.action_approve(action_id=action.pk, actor=actor, comment="ok")
        except Exception as exc:  # noqa: BLE001 - the losing thread's refusal is what we check
            outcomes[actor.username] = exc
        finally:
            connection.close()  # each thread has its own connection

    threads = [threading.Thread(target=approve, args=(user,)) for user in (lead, lead2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    won = [o for o in outcomes.values() if isinstance(o, EnforcementAction)]
    lost = [o for o in outcomes.values() if not isinstance(o, EnforcementAction)]
    assert len(won) == 1 and len(lost) == 1, outcomes
    assert isinstance(lost[0], services.EnforcementError) and "already applied" in str(lost[0])
    assert EnforcementChange.objects.filter(action=action).count() == 3  # one change per account, not two
    assert AuditEntry.objects.filter(action="enforcement.approved").count() == 1
    assert AuditEntry.objects.filter(action="enforcement.ban_applied").count() == 1


def test_an_applied_or_rejected_action_cannot_be_approved_again(analyst, lead, lead2, settings):
    applied = _pending(analyst, settings)
    services.action_approve(action_id=applied.pk, actor=lead, comment="ok")
    with pytest.raises(services.EnforcementError, match=f"Action {applied.pk} is already applied"):
        services.action_approve(action_id=applied.pk, actor=lead2, comment="me too")
    rejected = _pending(analyst, settings)
    services.action_reject(action_id=rejected.pk, actor=lead, comment="customer")
    with pytest.raises(services.EnforcementError, match=f"Action {rejected.pk} is already rejected"):
        services.action_approve(action_id=rejected.pk, actor=lead2, comment="overrule")
    assert not EnforcementChange.objects.filter(action=rejected).exists()
    assert EnforcementChange.objects.filter(action=applied).count() == 3
