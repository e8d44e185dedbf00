"""Precomputed case figures: after a refresh, the case page reads stored results instead of aggregating events."""

from __future__ import annotations

import pytest
from django.urls import reverse

from investigations.models import AggregateSnapshot
from investigations.services import figures as figure_services

pytestmark = pytest.mark.django_db


def test_refresh_stores_the_figures_the_case_page_reads(analyst_client, scenario, monkeypatch):
    assert figure_services.figures_refresh([scenario.case.pk, 987_654]) == 1  # an unknown id is skipped
    keys = set(AggregateSnapshot.objects.values_list("key", flat=True))
    pk = scenario.case.pk
    assert {f"case-links:{pk}", f"case-graph:{pk}:0", f"case-graph:{pk}:1", f"case-usage-fig:{pk}:UTC"} <= keys

    def no_aggregation(*args, **kwargs):
        raise AssertionError("the case page recomputed a figure that was precomputed")

    monkeypatch.setattr("investigations.selectors.usage.hourly_usage", no_aggregation)
    monkeypatch.setattr("investigations.selectors.usage.account_totals", no_aggregation)
    monkeypatch.setattr("investigations.charts.cluster_graph", no_aggregation)
    assert analyst_client.get(scenario.case.get_absolute_url()).status_code == 200
    assert analyst_client.get(reverse("case-graph", args=[pk])).status_code == 200
    assert analyst_client.get(reverse("case-timeline", args=[pk])).status_code == 200


def test_refresh_redraws_the_zones_viewers_already_used(client, analyst, scenario):
    client.force_login(analyst)
    client.cookies["tz"] = "Asia/Tokyo"
    client.get(reverse("case-timeline", args=[scenario.case.pk]))
    AggregateSnapshot.objects.filter(key__startswith="case-usage-fig:").delete()
    figure_services.figures_refresh([scenario.case.pk])
    keys = set(AggregateSnapshot.objects.filter(key__startswith="case-usage-fig:").values_list("key", flat=True))
    assert keys == {f"case-usage-fig:{scenario.case.pk}:UTC", f"case-usage-fig:{scenario.case.pk}:Asia/Tokyo"}


def test_refresh_later_queues_the_task_once_the_transaction_commits(
    scenario, monkeypatch, django_capture_on_commit_callbacks
):
    from types import SimpleNamespace

    queued: list[list[int]] = []
    monkeypatch.setattr("investigations.tasks.figures_refresh_task", SimpleNamespace(delay=queued.append))
    monkeypatch.setattr(figure_services, "_runs_inline", lambda: False)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        figure_services.figures_refresh_later([scenario.case.pk, scenario.case.pk])
        assert queued == []
    for callback in callbacks:
        callback()
    assert queued == [[scenario.case.pk]]


def test_the_task_refreshes_through_the_service(scenario):
    from investigations.tasks import figures_refresh_task

    assert figures_refresh_task.apply(args=[[scenario.case.pk]]).get() == 1
    assert AggregateSnapshot.objects.filter(key=f"case-links:{scenario.case.pk}").exists()


def test_nothing_is_queued_when_tasks_run_inline(scenario, settings, django_capture_on_commit_callbacks):
    # Embedded mode runs tasks in the request: the page computes its figures on first view instead.
    settings.CELERY_TASK_ALWAYS_EAGER = True
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        figure_services.figures_refresh_later([scenario.case.pk])
    assert callbacks == []


def test_membership_changes_by_analysts_queue_a_refresh_of_both_cases(analyst, scenario, monkeypatch):
    from investigations.services import cases as case_services
    from tests.investigations.factories import CaseFactory

    refreshed: list[list[int]] = []
    monkeypatch.setattr(case_services, "figures_refresh_later", lambda ids: refreshed.append(sorted(ids)))
    target = CaseFactory()
    case_services.case_move_account(account=scenario.accounts[0], target=target, actor=analyst, reason="other op")
    assert refreshed == [sorted([scenario.case.pk, target.pk])]
