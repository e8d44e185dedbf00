"""Ban/unban services: four-eyes rules, scopes, idempotence, history and audit."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied

from accounts.models import Account
from investigations.enforcement import services
from investigations.enforcement.models import EnforcementAction, EnforcementChange
from investigations.models import AuditEntry
from tests.accounts.factories import AccountFactory
from tests.enforcement.factories import make_case

pytestmark = pytest.mark.django_db
Status = EnforcementAction.Status


def test_an_analyst_bans_a_few_accounts_at_once(analyst):
    accounts = AccountFactory.create_batch(3)
    action = services.action_request(
        actor=analyst, kind="ban", reason="Same harness", accounts=[a.account_id for a in accounts]
    )
    assert action.status == Status.APPLIED
    assert action.changed_count == 3
    assert set(Account.objects.values_list("enforcement", flat=True)) == {"banned"}
    change = EnforcementChange.objects.get(account=accounts[0])
    assert (change.before, change.after, change.account_seq, change.delivery_state) == ("none", "banned", 1, "pending")
    applied = AuditEntry.objects.get(action="enforcement.ban_applied")
    assert applied.actor == analyst and applied.reason == "Same harness"
    assert applied.before == {"enforcement": {a.account_id: "none" for a in accounts}}
    assert sorted(applied.after["accounts"]) == sorted(a.account_id for a in accounts)


def test_banning_twice_is_harmless(analyst):
    account = AccountFactory()
    services.action_request(actor=analyst, kind="ban", reason="r1", accounts=[account.account_id])
    again = services.action_request(actor=analyst, kind="ban", reason="r2", accounts=[account.pk])
    assert again.status == Status.APPLIED and again.changed_count == 0
    assert EnforcementChange.objects.filter(account=account).count() == 1


def test_unban_needs_a_reason_and_numbers_the_accounts_changes(analyst):
    account = AccountFactory()
    services.action_request(actor=analyst, kind="ban", reason="r1", accounts=[account.account_id])
    with pytest.raises(services.EnforcementError, match="reason"):
        services.action_request(actor=analyst, kind="unban", reason="  ", accounts=[account.account_id])
    services.action_request(actor=analyst, kind="unban", reason="false positive", accounts=[account.account_id])
    account.refresh_from_db()
    assert account.enforcement == "none"
    assert list(EnforcementChange.objects.filter(account=account).values_list("account_seq", "after")) == [
        (1, "banned"),
        (2, "none"),
    ]


def test_case_scope_flagged_or_all(analyst):
    case = make_case(flagged=4, linked=3)
    flagged = services.action_request(actor=analyst, kind="ban", reason="r", case=case, scope="flagged")
    assert flagged.account_count == 4 and flagged.changed_count == 4
    everyone = services.action_request(actor=analyst, kind="ban", reason="r", case=case, scope="all")
    assert everyone.account_count == 7 and everyone.changed_count == 3


def test_a_large_action_waits_for_another_lead(analyst, lead, lead2, settings):
    settings.ENFORCEMENT_APPROVAL_THRESHOLD = 5
    case = make_case(flagged=6)
    action = services.action_request(actor=analyst, kind="ban", reason="hydra", case=case, scope="flagged")
    assert action.status == Status.PENDING_APPROVAL
    assert not Account.objects.filter(enforcement="banned").exists()
    with pytest.raises(PermissionDenied):
        services.action_approve(action_id=action.pk, actor=analyst, comment="")
    own = services.action_request(actor=lead, kind="ban", reason="hydra", case=case, scope="all")
    assert own.status == Status.PENDING_APPROVAL  # a lead's large action needs a second pair of eyes too
    with pytest.raises(PermissionDenied, match="own"):
        services.action_approve(action_id=own.pk, actor=lead, comment="")
    approved = services.action_approve(action_id=action.pk, actor=lead2, comment="Evidence is solid")
    assert (approved.status, approved.reviewed_by, approved.changed_count) == (Status.APPLIED, lead2, 6)
    assert Account.objects.filter(enforcement="banned").count() == 6
    with pytest.raises(services.EnforcementError, match="already applied"):
        services.action_approve(action_id=action.pk, actor=lead, comment="")
    assert AuditEntry.objects.filter(action="enforcement.approved", actor=lead2).exists()


def test_rejecting_needs_a_comment_and_changes_nothing(analyst, lead, settings):
    settings.ENFORCEMENT_APPROVAL_THRESHOLD = 1
    accounts = AccountFactory.create_batch(2)
    action = services.action_request(actor=analyst, kind="ban", reason="r", accounts=[a.pk for a in accounts])
    with pytest.raises(services.EnforcementError, match="comment"):
        services.action_reject(action_id=action.pk, actor=lead, comment="")
    rejected = services.action_reject(action_id=action.pk, actor=lead, comment="Enterprise customer")
    assert rejected.status == Status.REJECTED
    assert not EnforcementChange.objects.exists()


def test_viewers_cannot_ban_and_unknown_accounts_are_named(viewer, analyst):
    account = AccountFactory()
    with pytest.raises(PermissionDenied):
        services.action_request(actor=viewer, kind="ban", reason="r", accounts=[account.account_id])
    with pytest.raises(services.EnforcementError, match="acct_nope"):
        services.action_request(actor=analyst, kind="ban", reason="r", accounts=[account.account_id, "acct_nope"])
    assert not EnforcementAction.objects.exists()


def test_a_lead_resends_only_an_accounts_latest_change(analyst, lead):
    account = AccountFactory()
    services.action_request(actor=analyst, kind="ban", reason="r", accounts=[account.pk])
    unban = services.action_request(actor=analyst, kind="unban", reason="r", accounts=[account.pk])
    EnforcementChange.objects.update(delivery_state="delivered")
    first, second = EnforcementChange.objects.order_by("pk")
    with pytest.raises(PermissionDenied):
        services.changes_resend(actor=analyst, action=unban, change_id=second.pk)
    with pytest.raises(services.EnforcementError):
        services.changes_resend(actor=lead, action=first.action, change_id=first.pk)
    assert services.changes_resend(actor=lead, action=unban, change_id=second.pk) == 1
    second.refresh_from_db()
    assert second.delivery_state == "pending"
    assert AuditEntry.objects.filter(action="enforcement.delivery_resent", actor=lead).exists()
