"""Dashboard pages: overview, alert queue, cases and the case page with its partials."""

from __future__ import annotations

from django.urls import path

from investigations.views import alerts, cases, overview

urlpatterns = [
    path("", overview.overview, name="overview"),
    path("overview/batches/", overview.overview_batches, name="overview-batches"),
    path("alerts/", alerts.alert_list, name="alert-list"),
    path("alerts/bulk/", alerts.alert_bulk, name="alert-bulk"),
    path("cases/", cases.case_list, name="case-list"),
    path("cases/<int:case_id>/", cases.case_detail, name="case-detail"),
    path("cases/<int:case_id>/header/", cases.case_header, name="case-header"),
    path("cases/<int:case_id>/accounts/", cases.case_accounts, name="case-accounts"),
    path("cases/<int:case_id>/activity/", cases.case_activity, name="case-activity"),
    path("cases/<int:case_id>/graph/", cases.case_graph, name="case-graph"),
    path("cases/<int:case_id>/graph/node/", cases.case_graph_node, name="case-graph-node"),
    path("cases/<int:case_id>/timeline/", cases.case_timeline, name="case-timeline"),
    path("cases/<int:case_id>/status/", cases.case_status, name="case-status"),
    path("cases/<int:case_id>/assign/", cases.case_assign, name="case-assign"),
    path("cases/<int:case_id>/notes/", cases.case_note_add, name="case-note-add"),
    path("cases/<int:case_id>/merge/", cases.case_merge, name="case-merge"),
    path("cases/<int:case_id>/split/", cases.case_split, name="case-split"),
    path("cases/<int:case_id>/move/", cases.case_move_account, name="case-move-account"),
]
