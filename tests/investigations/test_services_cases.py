"""Case services: every change lands in the audit log in the same transaction, with before and after."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from investigations.models import Alert, AuditEntry, Case, CaseMembership, Note
from investigations.services import cases as case_services
from investigations.services import notes as note_services
from tests.investigations.conftest import build_scenario
from tests.investigations.factories import CaseFactory

pytestmark = pytest.mark.django_db


def _audit(action: str, case: Case) -> AuditEntry:
    return AuditEntry.objects.get(action=action, object_type="investigations.case", object_id=str(case.pk))


def test_it_moves_a_case_through_the_workflow_and_audits_each_step(analyst, scenario):
    case = case_services.case_change_status(
        case=scenario.case, actor=analyst, status=Case.Status.INVESTIGATING, reason="looking"
    )
    assert case.status == Case.Status.INVESTIGATING and case.analyst_touched_at is not None
    entry = _audit("case.status_changed", case)
    assert entry.actor == analyst and entry.reason == "looking"
    assert entry.before["status"] == "new" and entry.after["status"] == "investigating"

    case = case_services.case_change_status(
        case=case, actor=analyst, status=Case.Status.CLOSED, resolution=Case.Resolution.CONFIRMED_ATTACK
    )
    assert case.closed_at is not None and case.resolution == "confirmed_attack"


def test_it_refuses_to_close_without_a_resolution_and_changes_nothing(analyst, scenario):
    with pytest.raises(ValidationError, match="resolution"):
        case_services.case_change_status(case=scenario.case, actor=analyst, status=Case.Status.CLOSED)
    scenario.case.refresh_from_db()
    assert scenario.case.status == Case.Status.NEW
    assert not AuditEntry.objects.filter(action="case.status_changed").exists()


def test_it_refuses_a_transition_outside_the_workflow(analyst):
    case = CaseFactory(status=Case.Status.CLOSED, resolution=Case.Resolution.LEGITIMATE)
    with pytest.raises(ValidationError):
        case_services.case_change_status(case=case, actor=analyst, status=Case.Status.ACTIONED)


def test_it_assigns_and_records_who_had_it_before(analyst, analyst2, scenario):
    case_services.case_assign(case=scenario.case, actor=analyst, assignee=analyst2)
    entry = _audit("case.assigned", scenario.case)
    assert entry.before["assignee"] is None and entry.after["assignee"] == analyst2.username


def test_merge_moves_accounts_and_alerts_and_closes_the_source(analyst, scenario):
    other = build_scenario(accounts=2, prefix="acct_m")
    target = case_services.case_merge(source=other.case, target=scenario.case, actor=analyst, reason="same card")
    assert CaseMembership.objects.filter(case=target).count() == 8
    assert not Alert.objects.filter(case=other.case).exists()
    other.case.refresh_from_db()
    assert other.case.status == Case.Status.CLOSED and other.case.merged_into_id == target.pk
    assert _audit("case.merged", target).after["merged_from"] == other.case.pk
    assert _audit("case.merged_away", other.case).reason == "same card"


def test_merge_needs_a_reason(analyst, scenario):
    other = CaseFactory()
    with pytest.raises(ValidationError):
        case_services.case_merge(source=other, target=scenario.case, actor=analyst, reason=" ")


def test_split_moves_selected_accounts_into_a_new_pinned_case(analyst, scenario):
    moving = [a.account_id for a in scenario.accounts[:2]]
    new_case = case_services.case_split(
        case=scenario.case, account_ids=moving, actor=analyst, title="Second operator", reason="other harness"
    )
    members = CaseMembership.objects.filter(case=new_case)
    assert sorted(m.account.account_id for m in members) == moving
    assert all(m.pinned and m.source == CaseMembership.Source.ANALYST for m in members)
    assert Alert.objects.filter(case=new_case).count() == 1  # the first account's alert follows it
    assert _audit("case.split", scenario.case).after == {"accounts": moving, "new_case": new_case.pk}


def test_split_refuses_to_empty_the_case(analyst, scenario):
    with pytest.raises(ValidationError, match="empty"):
        case_services.case_split(
            case=scenario.case,
            account_ids=[a.account_id for a in scenario.accounts],
            actor=analyst,
            title="",
            reason="x",
        )


def test_moving_an_account_pins_it_in_the_target_and_audits_both_cases(analyst, scenario):
    target = CaseFactory()
    account = scenario.accounts[0]
    membership = case_services.case_move_account(account=account, target=target, actor=analyst, reason="wrong case")
    assert membership.case == target and membership.pinned
    assert Alert.objects.get(account=account).case == target
    assert _audit("case.account_moved_in", target).after["from_case"] == scenario.case.pk
    assert _audit("case.account_moved_out", scenario.case).after["to_case"] == target.pk


def test_notes_are_stored_as_written_and_audited(analyst, scenario):
    note = note_services.note_add(case=scenario.case, author=analyst, body="  Same **harness**  ")
    assert Note.objects.get().body == "Same **harness**" == note.body
    assert _audit("case.note_added", scenario.case).after["note"] == note.pk
    with pytest.raises(ValidationError):
        note_services.note_add(case=scenario.case, author=analyst, body="   ")


def test_a_viewer_cannot_be_assigned_a_case(analyst, viewer, scenario):
    with pytest.raises(ValidationError, match="may not manage cases"):
        case_services.case_assign(case=scenario.case, actor=analyst, assignee=viewer)
    scenario.case.refresh_from_db()
    assert scenario.case.assignee is None
    assert not AuditEntry.objects.filter(action="case.assigned").exists()


def test_merge_refuses_a_closed_or_merged_target(analyst, scenario):
    first, second = CaseFactory(), CaseFactory()
    case_services.case_merge(source=first, target=second, actor=analyst, reason="same operator")
    # `first` is now merged into `second`; a stale form still offering `first` as a target must not work.
    with pytest.raises(ValidationError, match="merged into"):
        case_services.case_merge(source=scenario.case, target=first, actor=analyst, reason="stale form")
    closed = CaseFactory(status=Case.Status.CLOSED, resolution=Case.Resolution.LEGITIMATE)
    with pytest.raises(ValidationError, match="closed"):
        case_services.case_merge(source=scenario.case, target=closed, actor=analyst, reason="x")
    assert CaseMembership.objects.filter(case=scenario.case).count() == len(scenario.accounts)


def test_merge_locks_both_cases_in_pk_order(analyst, monkeypatch):
    low, high = CaseFactory(), CaseFactory()
    locked: list[int] = []
    real = case_services._lock_cases

    def spy(*pks):
        result = real(*pks)
        locked.extend(result)
        return result

    monkeypatch.setattr(case_services, "_lock_cases", spy)
    case_services.case_merge(source=high, target=low, actor=analyst, reason="same card")
    assert locked == [low.pk, high.pk]


def test_an_account_cannot_move_into_a_closed_or_merged_case(analyst, scenario):
    merged, survivor = CaseFactory(), CaseFactory()
    case_services.case_merge(source=merged, target=survivor, actor=analyst, reason="same operator")
    closed = CaseFactory(status=Case.Status.CLOSED, resolution=Case.Resolution.LEGITIMATE)
    account = scenario.accounts[0]
    for target, message in [(merged, "merged into"), (closed, "closed")]:
        with pytest.raises(ValidationError, match=message):
            case_services.case_move_account(account=account, target=target, actor=analyst, reason="x")
    assert CaseMembership.objects.get(account=account).case == scenario.case


def test_a_merged_case_cannot_be_reopened(analyst):
    source, target = CaseFactory(), CaseFactory()
    case_services.case_merge(source=source, target=target, actor=analyst, reason="same operator")
    source.refresh_from_db()
    assert source.next_statuses == ()
    with pytest.raises(ValidationError, match="merged into"):
        case_services.case_change_status(case=source, actor=analyst, status=Case.Status.INVESTIGATING)
    source.refresh_from_db()
    assert source.status == Case.Status.CLOSED
