"""Cases across runs: ids and status kept, growth audited, touched cases never shrunk silently, pins respected."""

from __future__ import annotations

import pytest
from django.utils import timezone

from accounts.models import Account, UsageEvent
from investigations.detection.services import detection_run
from investigations.models import Alert, AuditEntry, Case, CaseMembership
from tests.accounts.factories import AccountFactory, UsageEventFactory
from tests.detection.scenario import build_world

pytestmark = pytest.mark.django_db


def _case_of(account_id: str) -> Case:
    return CaseMembership.objects.select_related("case").get(account__account_id=account_id).case


def _unlink(account_id: str) -> None:
    """Make an account share nothing with anyone any more."""
    UsageEvent.objects.filter(account__account_id=account_id).delete()
    Account.objects.filter(account_id=account_id).update(
        payment_fingerprint=f"pf_own_{account_id}", email=f"{account_id}@own.example", signup_ip=None
    )


def test_a_new_batch_grows_cases_and_keeps_ids_and_status_and_touched_cases_raise_alerts():
    build_world()
    detection_run(full=True)
    alpha, bravo = _case_of("acct_alpha_001"), _case_of("acct_bravo_001")
    assert AuditEntry.objects.filter(action="case.opened", object_id=str(alpha.pk), actor=None).exists()
    Case.objects.filter(pk=alpha.pk).update(status=Case.Status.INVESTIGATING, analyst_touched_at=timezone.now())
    # An analyst pinned an unrelated person into the alpha case.
    CaseMembership.objects.filter(account__account_id="acct_person_001").delete()
    CaseMembership.objects.create(
        case=alpha, account=Account.objects.get(account_id="acct_person_001"), source="analyst", pinned=True
    )

    # Next batch: a new head pays with alpha's first card and sends its traffic.
    head = AccountFactory(account_id="acct_alpha_new", payment_fingerprint="pf_alpha_0")
    UsageEventFactory(account=head, batch_id=77)
    run = detection_run(batch_id=77)
    assert run.mode == "incremental" and run.stats["scope_accounts"] == 1
    assert _case_of("acct_alpha_new").pk == alpha.pk
    alpha.refresh_from_db()
    assert alpha.status == Case.Status.INVESTIGATING
    assert AuditEntry.objects.filter(action="case.members_added", object_id=str(alpha.pk)).exists()

    # Links of one account in each case disappear.
    _unlink("acct_alpha_000")
    _unlink("acct_bravo_000")
    detection_run(full=True)
    assert _case_of("acct_alpha_000").pk == alpha.pk  # touched: kept, with an alert saying so
    alert = Alert.objects.get(alert_id__startswith="hw:unlinked:", case=alpha)
    assert alert.source == Alert.Source.SYSTEM and "acct_alpha_000" in alert.summary
    assert not CaseMembership.objects.filter(account__account_id="acct_bravo_000").exists()
    assert AuditEntry.objects.filter(action="case.members_removed", object_id=str(bravo.pk)).exists()
    assert _case_of("acct_person_001").pk == alpha.pk  # the pin holds

    # Idempotent: running again changes nothing and raises no second alert.
    members = set(CaseMembership.objects.values_list("account_id", "case_id"))
    detection_run(full=True)
    assert set(CaseMembership.objects.values_list("account_id", "case_id")) == members
    assert Alert.objects.filter(alert_id__startswith="hw:").count() == 1


def test_linking_two_untouched_cases_merges_them_into_the_older_one():
    build_world()
    detection_run(full=True)
    alpha, bravo = _case_of("acct_alpha_001"), _case_of("acct_bravo_001")
    Account.objects.filter(account_id="acct_bravo_001").update(payment_fingerprint="pf_alpha_0")
    detection_run(full=True)
    merged = _case_of("acct_bravo_002")
    assert merged.pk == min(alpha.pk, bravo.pk)
    gone = Case.objects.get(pk=max(alpha.pk, bravo.pk))
    assert gone.status == Case.Status.CLOSED and gone.merged_into_id == merged.pk
    assert AuditEntry.objects.filter(action="case.merged", object_id=str(gone.pk), actor=None).exists()
    assert AuditEntry.objects.filter(action="case.members_moved", object_id=str(merged.pk)).exists()


def test_a_run_queues_the_figures_of_the_cases_holding_the_batch_accounts(monkeypatch):
    from investigations.detection import services

    build_world()
    detection_run(full=True)
    queued: list[set[int]] = []
    monkeypatch.setattr(services, "figures_refresh_later", lambda ids: queued.append(set(ids)))
    alpha = _case_of("acct_alpha_001")
    UsageEventFactory(account=Account.objects.get(account_id="acct_alpha_001"), batch_id=78)
    detection_run(batch_id=78)
    assert queued == [{alpha.pk}]
    detection_run(full=True)
    assert queued[-1] == set(Case.objects.open().filter(merged_into__isnull=True).values_list("pk", flat=True))
    assert len(queued[-1]) >= 2


def test_a_batch_refreshes_evidence_and_scores_of_the_cases_it_touches_and_a_full_run_of_all():
    build_world()
    detection_run(full=True)
    alpha, bravo = _case_of("acct_alpha_001"), _case_of("acct_bravo_001")
    # Stand-ins for stored values that a refresh would overwrite.
    Case.objects.filter(pk__in=[alpha.pk, bravo.pk]).update(risk_score=0.0123)
    CaseMembership.objects.filter(case__in=[alpha, bravo]).update(evidence=[])

    head = AccountFactory(account_id="acct_alpha_new", payment_fingerprint="pf_alpha_0")
    UsageEventFactory(account=head, batch_id=79)
    detection_run(batch_id=79)
    alpha.refresh_from_db()
    bravo.refresh_from_db()
    assert alpha.risk_score != 0.0123 and alpha.risk_reasons
    assert all(CaseMembership.objects.filter(case=alpha).values_list("evidence", flat=True))
    assert CaseMembership.objects.get(account=head).evidence  # the new head says why it is there
    assert bravo.risk_score == 0.0123  # untouched by the batch: left for the nightly full run
    assert not any(CaseMembership.objects.filter(case=bravo).values_list("evidence", flat=True))

    detection_run(full=True)
    bravo.refresh_from_db()
    assert bravo.risk_score != 0.0123
    assert all(CaseMembership.objects.filter(case=bravo).values_list("evidence", flat=True))


def test_the_full_run_is_on_the_nightly_beat_schedule():
    from celery.schedules import crontab
    from django.conf import settings

    from investigations.detection.tasks import detect_full

    entry = settings.CELERY_BEAT_SCHEDULE["detection-full-nightly"]
    assert entry["task"] == detect_full.name and isinstance(entry["schedule"], crontab)


def test_a_batch_run_also_refreshes_the_cases_an_analyst_changed_since_the_last_run():
    build_world()
    detection_run(full=True)
    bravo = _case_of("acct_bravo_001")
    # An analyst's edit since the last run (merge, moved accounts) left a score detection must re-derive.
    Case.objects.filter(pk=bravo.pk).update(risk_score=0.0123, analyst_touched_at=timezone.now())
    UsageEventFactory(
        account=AccountFactory(account_id="acct_alpha_new", payment_fingerprint="pf_alpha_0"), batch_id=80
    )
    detection_run(batch_id=80)
    bravo.refresh_from_db()
    assert bravo.risk_score != 0.0123
