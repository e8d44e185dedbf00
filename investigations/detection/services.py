"""Detection writes: run the pipeline and turn operator clusters into cases.

`detection_run` is the one entry point (the Celery task after each batch and
`manage.py detect` call it). Case rules, from the issue:

- a new batch grows or merges existing cases and keeps their ids, notes and status;
- memberships placed by an analyst (`pinned`, or `source` other than detection) never move;
- a case an analyst has touched (`analyst_touched_at`) is never shrunk or merged away
  silently: detection leaves the account where it is and raises a `hw:` alert that says so;
- every automatic change is written to the audit log with `actor=None`.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import Future
from contextlib import contextmanager
from datetime import date

from django.db import connection, transaction
from django.db.models import Max, Min
from django.utils import timezone

from accounts.models import Account, UsageEvent
from config.db import alongside, chunked, update_changed
from investigations.detection.batches import batch_apply, records_rebuild
from investigations.detection.clustering import Clustering, cluster_accounts
from investigations.detection.event_scan import scan_alongside
from investigations.detection.event_stage import stage_events
from investigations.detection.evidence import case_evidence, indicator_values
from investigations.detection.features import features_refresh
from investigations.detection.indicators import indicators_refresh
from investigations.detection.models import DetectionRun
from investigations.detection.scoring import Baseline, baseline_compute, score_case, scoring_inputs
from investigations.detection.signals.prompt_echo import (
    days_between,
    days_of,
    days_with_events,
    prompt_echo_refresh,
)
from investigations.detection.signals.signup_burst import signup_burst_refresh
from investigations.detection.signals.sync_activity import sync_activity_refresh
from investigations.models import Alert, AuditEntry, Case, CaseMembership
from investigations.services.audit import audit_entry, audit_record, audit_write
from investigations.services.figures import figures_refresh_later

logger = logging.getLogger(__name__)
DETECTOR = "hydra-watch-detection"
WHOLE_TABLE_SHARE = 0.3
WORK_MEM = "128MB"
_LOCK_KEY = 0x48594452  # "HYDR": one detection run at a time across workers


@contextmanager
def _run_lock():
    """Serialize runs: two batches finishing together must not both rewrite the same cases."""
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s)", [_LOCK_KEY])
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [_LOCK_KEY])


def summarize_batch_index() -> None:
    """Summarize the page ranges of the BRIN indexes on `batch_id` and `ts` that inserts left unsummarized.

    PostgreSQL does not summarize new page ranges on insert; until autovacuum gets
    to them, every unsummarized range matches any batch id, so right after a big
    ingest the index would return the whole table. Summarizing reads only the
    new ranges (about one batch's pages), once.
    """
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT brin_summarize_new_values(i) FROM unnest(ARRAY[to_regclass('event_batch_brin'), "
            "to_regclass('event_ts_brin')]) AS i WHERE i IS NOT NULL"
        )


def batch_scope(batch_id: int) -> tuple[list[int], list[date], list[int]]:
    """Accounts a batch touched (its events, snapshots and alerts), the UTC days its events cover,
    and the accounts whose snapshot (e-mail, sign-up time) it set: only their sign-up bursts can change.

    The batch's rows are found through the BRIN index on `batch_id` (accounts migration 0005),
    twice: its distinct accounts, then its time span. One grouped query returning both per
    account cost more (0.3-0.45 s against 0.2 s for 20,000 accounts), in converting its rows.
    Both are fetched in one go, not through `.iterator()`: a server-side cursor makes PostgreSQL
    plan for the first rows and walk the whole (account, ts) index instead.
    """
    events = UsageEvent.objects.filter(batch_id=batch_id).order_by()
    touched = set(events.values_list("account_id", flat=True).distinct())
    span = events.aggregate(first=Min("ts"), last=Max("ts"))
    snapshots = list(Account.objects.filter(snapshot_batch_id=batch_id).values_list("id", flat=True))
    touched.update(snapshots)
    touched.update(Alert.objects.filter(batch_id=batch_id).values_list("account_id", flat=True))
    return sorted(touched), days_between(span["first"], span["last"]), snapshots


def detection_run(*, batch_id: int | None = None, full: bool = False) -> DetectionRun:
    """Refresh features, indicators and links (for a batch's accounts, or everything) and sync cases."""
    mode = DetectionRun.Mode.FULL if full or batch_id is None else DetectionRun.Mode.INCREMENTAL
    run = DetectionRun.objects.create(mode=mode, batch_id=batch_id)
    timings: dict[str, float] = {}

    def step(name: str, started: float) -> float:
        now = time.perf_counter()
        timings[name] = round(now - started, 3)
        return now

    try:
        with _run_lock():
            t = time.perf_counter()
            summarize_batch_index()
            arrays = None
            if mode == DetectionRun.Mode.FULL:
                scope: Sequence[int] | None = None
                snapshots: list[int] | None = None
                days = [] if connection.vendor == "postgresql" else days_with_events()
            else:
                scope, days, snapshots = batch_scope(batch_id)
            t = step("scope", t)
            # The behavioural signals read events and accounts, and write only their own links:
            # they run on a second connection while this one refreshes the account state.
            background = connection.vendor == "postgresql" and not connection.in_atomic_block
            with alongside(background=background, name="detection-signals") as submit:

                def start_behaviour() -> Future:  # with the run's scope and days as they are when called
                    kwargs = {"days": days, "batch_id": batch_id, "scope": scope, "snapshots": snapshots}
                    return submit(_behaviour_refresh, **kwargs, arrays=arrays)

                behaviour = None
                with _one_snapshot() as own_transaction:
                    if connection.vendor == "postgresql" and mode == DetectionRun.Mode.INCREMENTAL:
                        behaviour = start_behaviour()
                        applied = batch_apply(batch_id, scope)
                    elif connection.vendor == "postgresql":
                        # One read of every event's time and prompt hash serves the rhythm, echoes and
                        # lockstep; it runs alongside the grouped stage, the other read of the whole table.
                        with scan_alongside(background=own_transaction) as scanned, connection.cursor() as cursor:
                            stage_events(cursor, None)
                            t = step("stage", t)
                            arrays = scanned.result()
                        days = days_of(arrays)
                        t = step("scan", t)
                        behaviour = start_behaviour()
                        with connection.cursor() as cursor:
                            features_refresh(staged=True, arrays=arrays)
                            t = step("features", t)
                            records_rebuild(cursor, None)
                        indicators_refresh(staged=True)
                    else:
                        t = _refresh_portable(scope, step, t)
                if connection.vendor == "postgresql":
                    # The commit runs the deferred foreign-key checks of every row written: part of the step.
                    t = step("indicators" if mode == DetectionRun.Mode.FULL else "batch_apply", t)
                if behaviour is None:
                    behaviour = start_behaviour()
                arrays = None  # the behaviour refresh holds the scan's arrays as long as it needs them
                behaviour_timings = behaviour.result()
            t = step("behaviour_wait", t)
            timings.update(behaviour_timings)
            clustering = cluster_accounts()
            t = step("clustering", t)
            stats, changed = cases_sync(clustering=clustering, refresh=None if scope is None else set(scope))
            step("cases", t)
            # The charts of cases that gained or lost accounts are stale too, wherever the accounts came from.
            figures_refresh_later(cases_holding(scope) | changed)
    except Exception as exc:
        DetectionRun.objects.filter(pk=run.pk).update(
            status=DetectionRun.Status.FAILED, error=repr(exc)[:2000], finished_at=timezone.now()
        )
        raise
    stats["timings"] = timings
    if mode == DetectionRun.Mode.INCREMENTAL and connection.vendor == "postgresql":
        stats.update(applied)
    stats["scope_accounts"] = None if scope is None else len(scope)
    run.status = DetectionRun.Status.DONE
    run.finished_at = timezone.now()
    run.stats = stats
    run.save(update_fields=["status", "finished_at", "stats"])
    logger.info("detection run %s: %s", run.pk, stats)
    return run


@contextmanager
def _one_snapshot():
    """One transaction that reads the events at one point in time (PostgreSQL: REPEATABLE READ).

    The features, the indicator index and the batch records that say which events
    they include are written by several statements; under READ COMMITTED a batch
    committing in between would be in some of them and not in others. Yields whether
    this is its own transaction on PostgreSQL: then another connection can share its snapshot.
    """
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                if outermost:
                    cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                # Grouping 16M events by account and value spills to disk at the default 4 MB.
                cursor.execute(f"SET LOCAL work_mem = '{WORK_MEM}'")
        yield outermost and connection.vendor == "postgresql"


def _behaviour_refresh(
    *, days: list[date], batch_id: int | None, scope: Sequence[int] | None, snapshots: list[int] | None, arrays
) -> dict[str, float]:
    """Prompt echoes, sign-up bursts and synchronized activity (their links), in one transaction.

    `scope`: the batch's accounts (`snapshots`: those whose snapshot it set), or None for a full
    run (`arrays`: its one read of every event). Returns the timings of the three.
    """
    timings: dict[str, float] = {}
    started = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal started
        timings[name], started = round(time.perf_counter() - started, 3), time.perf_counter()

    with transaction.atomic():
        prompt_echo_refresh(days=days, arrays=arrays)
        lap("prompt_echo")
        signup_burst_refresh(snapshots)
        lap("signup_burst")
        sync_activity_refresh(batch_id=None if scope is None else batch_id, account_ids=scope or (), arrays=arrays)
        lap("sync_activity")
    return timings


def _refresh_portable(scope: Sequence[int] | None, step, t: float) -> float:
    """SQLite (the embedded demo): recompute the touched accounts from all their events."""
    # A batch touching a large share of all accounts is cheaper to refresh with whole-table scans.
    refresh = scope
    if scope is not None and len(scope) > WHOLE_TABLE_SHARE * max(Account.objects.count(), 1):
        refresh = None
    features_refresh(account_ids=refresh)
    t = step("features", t)
    indicators_refresh(account_ids=refresh)
    return step("indicators", t)


def cases_holding(account_ids: Sequence[int] | None) -> set[int]:
    """Live cases that hold any of these accounts (all live cases for None): their figures are now stale."""
    live = Case.objects.open().filter(merged_into__isnull=True)
    if account_ids is None:
        return set(live.values_list("pk", flat=True))
    found: set[int] = set()
    for chunk in chunked(account_ids):
        found.update(
            CaseMembership.objects.filter(account_id__in=chunk, case__in=live).values_list("case_id", flat=True)
        )
    return found


def _raise_alert(*, alert_id: str, account_id: int, case: Case, summary: str) -> None:
    """A `hw:` system alert, once per id (re-runs do not duplicate it)."""
    alert, created = Alert.objects.get_or_create(
        alert_id=alert_id,
        defaults={
            "account_id": account_id,
            "detector": DETECTOR,
            "score": 1.0,
            "raised_at": timezone.now(),
            "severity": Alert.Severity.MEDIUM,
            "summary": summary[:2000],
            "source": Alert.Source.SYSTEM,
            "case": case,
        },
    )
    if created:
        audit_record(actor=None, action="alert.raised", obj=alert, reason=summary)


def _is_pinned(membership: CaseMembership) -> bool:
    return membership.pinned or membership.source != CaseMembership.Source.DETECTION


class _CaseSync:
    """One pass of mapping clusters onto cases; collects the changes it audits.

    `refresh`: the accounts whose state changed (a batch's accounts), or None for all; which
    cases get their evidence and score re-derived is `cases_to_refresh`. The nightly full run
    (`detect_full`) refreshes every case and follows the drift of the all-accounts baseline.
    """

    def __init__(self, clustering: Clustering, baseline: Baseline, refresh: set[int] | None = None) -> None:
        self.clustering = clustering
        self.baseline = baseline
        self.refresh = refresh
        # Evidence (the bulk of a membership row) is never read: `update_changed` compares it in the
        # database. Cases are loaded once each, not joined to every membership row (24,000 copies).
        self.memberships: dict[int, CaseMembership] = {
            m.account_id: m for m in CaseMembership.objects.defer("evidence").iterator(chunk_size=5000)
        }
        self.cases: dict[int, Case] = Case.objects.in_bulk({m.case_id for m in self.memberships.values()})
        self.assigned: dict[int, int] = {}
        self.moved_into: dict[int, int] = {}
        self.changed_cases: set[int] = set()
        self.stats: Counter[str] = Counter()
        # Written together (a first run opens a case per operator: thousands of rows one by one).
        self.added: list[CaseMembership] = []
        self.moved: list[CaseMembership] = []
        self.audits: list[AuditEntry] = []

    def touched(self, case_id: int) -> bool:
        return self.cases[case_id].analyst_touched_at is not None

    def audit(self, **entry) -> None:
        self.audits.append(audit_entry(actor=None, **entry))

    def run(self) -> dict:
        components = self.clustering.components
        # Components are disjoint, so each one's target depends only on its own accounts' cases.
        targets = self.open_cases(components, [self.choose_target(component) for component in components])
        for component, target in zip(components, targets, strict=True):
            self.sync_component(component, target)
        CaseMembership.objects.bulk_create(self.added, batch_size=2000)
        CaseMembership.objects.bulk_update(self.moved, ["case"], batch_size=2000)
        self.drop_unlinked()
        self.refresh_evidence_and_scores()
        audit_write(self.audits)
        return dict(self.stats)

    def open_cases(self, components: list[list[int]], targets: list[Case | None]) -> list[Case]:
        """Open a case for each component without a target; the targets, all set."""
        new = [i for i, target in enumerate(targets) if target is None]
        flagged = {i: sum(1 for a in components[i] if a in self.clustering.flagged) for i in new}
        opened = Case.objects.bulk_create(
            [Case(title=f"Operator with {len(components[i])} linked accounts ({flagged[i]} flagged)") for i in new]
        )
        for i, case in zip(new, opened, strict=True):
            targets[i] = self.cases[case.pk] = case
            self.audit(
                action="case.opened",
                obj=case,
                reason="detection linked these accounts into one operator",
                after={"accounts": len(components[i]), "flagged": flagged[i]},
            )
        self.stats["cases_opened"] += len(new)
        return targets

    def choose_target(self, component: list[int]) -> Case | None:
        """The case this component goes to; None for a new one."""
        overlap = Counter(self.memberships[a].case_id for a in component if a in self.memberships)
        open_overlap = {cid: n for cid, n in overlap.items() if self.cases[cid].merged_into_id is None}
        if not open_overlap:
            return None
        touched = [cid for cid in open_overlap if self.touched(cid)]
        pool = touched or list(open_overlap)
        return self.cases[max(pool, key=lambda cid: (open_overlap[cid], -cid))]

    def sync_component(self, component: list[int], target: Case) -> None:
        added, moved = [], []
        for account in component:
            membership = self.memberships.get(account)
            if membership is None:
                membership = CaseMembership(case=target, account_id=account, source=CaseMembership.Source.DETECTION)
                added.append(membership)
                self.memberships[account] = membership
                self.assigned[account] = target.pk
                continue
            if membership.case_id == target.pk:
                self.assigned[account] = target.pk
                continue
            old = self.cases[membership.case_id]
            if _is_pinned(membership):
                continue
            if old.analyst_touched_at is not None:
                self.assigned[account] = old.pk
                _raise_alert(
                    alert_id=f"hw:linked:{account}:{old.pk}:{target.pk}",
                    account_id=account,
                    case=old,
                    summary=(
                        f"Detection links account {membership.account.account_id} "
                        f"of case #{old.pk} (touched by an analyst) to case #{target.pk}; it was left in #{old.pk}."
                    ),
                )
                self.stats["alerts_raised"] += 1
                continue
            moved.append((membership, old.pk))
            self.moved_into[old.pk] = target.pk
            membership.case = target
            self.assigned[account] = target.pk
        if added or moved:
            self.changed_cases.add(target.pk)
            self.changed_cases.update(old for _, old in moved)
        if added:
            self.added.extend(added)
            self.audit(
                action="case.members_added",
                obj=target,
                reason="detection linked new accounts to this operator",
                after={"count": len(added), "accounts": [m.account_id for m in added[:100]]},
            )
            self.stats["members_added"] += len(added)
        if moved:
            self.moved.extend(m for m, _ in moved)
            for source in sorted({old for _, old in moved}):
                accounts = [m.account_id for m, old in moved if old == source]
                self.audit(
                    action="case.members_moved",
                    obj=target,
                    reason=f"detection found these accounts of case #{source} belong to the same operator",
                    before={"case": source},
                    after={"case": target.pk, "count": len(accounts), "accounts": accounts[:100]},
                )
            self.stats["members_moved"] += len(moved)

    def drop_unlinked(self) -> None:
        """Detection-placed members whose links are gone leave untouched cases; touched cases raise an alert."""
        removed: dict[int, list[CaseMembership]] = {}
        for account, membership in list(self.memberships.items()):
            if membership.pk is None or _is_pinned(membership) or self.assigned.get(account) == membership.case_id:
                continue
            case = self.cases[membership.case_id]
            if case.analyst_touched_at is not None:
                _raise_alert(
                    alert_id=f"hw:unlinked:{account}:{case.pk}",
                    account_id=account,
                    case=case,
                    summary=(
                        f"Account {membership.account.account_id} no longer links to the other accounts of case "
                        f"#{case.pk}; it was left in the case because an analyst has worked on it."
                    ),
                )
                self.stats["alerts_raised"] += 1
                continue
            removed.setdefault(case.pk, []).append(membership)
            del self.memberships[account]
        self.changed_cases.update(removed)
        for case_id, memberships in removed.items():
            CaseMembership.objects.filter(pk__in=[m.pk for m in memberships]).delete()
            self.audit(
                action="case.members_removed",
                obj=self.cases[case_id],
                reason="detection no longer links these accounts to this operator",
                after={"count": len(memberships), "accounts": [m.account_id for m in memberships[:100]]},
            )
            self.stats["members_removed"] += len(memberships)
        # Untouched cases left without members were merged into another case or dissolved.
        members_left = Counter(m.case_id for m in self.memberships.values())
        for case in self.cases.values():
            if members_left[case.pk] or case.status == Case.Status.CLOSED or case.analyst_touched_at:
                continue
            before = {"status": case.status}
            case.status = Case.Status.CLOSED
            case.resolution = Case.Resolution.INCONCLUSIVE
            case.closed_at = timezone.now()
            case.merged_into_id = self.moved_into.get(case.pk)
            case.save(update_fields=["status", "resolution", "closed_at", "merged_into", "updated_at"])
            merged = case.merged_into_id is not None
            self.audit(
                action="case.merged" if merged else "case.dissolved",
                obj=case,
                reason=(
                    f"detection found the same operator behind case #{case.merged_into_id}; its accounts moved there"
                    if merged
                    else "its accounts are no longer linked to each other"
                ),
                before=before,
                after={"status": case.status, "merged_into": case.merged_into_id},
            )
            self.stats["cases_merged" if merged else "cases_dissolved"] += 1

    def cases_to_refresh(self) -> dict[int, list[int]]:
        """Case -> its accounts, for the cases whose evidence and score may have changed.

        In a batch's run: the cases holding its accounts, those whose members changed, and those an
        analyst worked on. Elsewhere the evidence texts' "N accounts in all" counts and value weights
        can drift as other accounts come to share a value; the nightly full run brings them up to date.
        """
        by_case: dict[int, list[int]] = {}
        for account, membership in self.memberships.items():
            by_case.setdefault(membership.case_id, []).append(account)
        if self.refresh is None:
            return by_case
        wanted = set(self.changed_cases)
        wanted.update(m.case_id for a, m in self.memberships.items() if a in self.refresh)
        # Cases an analyst changed since the last finished run (a merge, accounts moved or added
        # by hand) get their evidence and score re-derived now, not at night.
        last = DetectionRun.objects.filter(status=DetectionRun.Status.DONE).order_by("-started_at").first()
        wanted.update(
            case.pk
            for case in self.cases.values()
            if last is None or (case.analyst_touched_at is not None and case.analyst_touched_at >= last.started_at)
        )
        return {case_id: members for case_id, members in by_case.items() if case_id in wanted}

    def refresh_evidence_and_scores(self) -> None:
        """Evidence and link strength of the members, and the risk score, of the cases to refresh."""
        by_case = self.cases_to_refresh()
        members_all = [a for members in by_case.values() for a in members]
        needed: set[int] = set()
        for accounts in by_case.values():
            for account in accounts:
                needed.update(self.clustering.account_values.get(account, ()))
        values = indicator_values(needed)
        updates: list[CaseMembership] = []
        accounts, features = scoring_inputs(members_all)
        rescored: list[Case] = []
        for case_id, members in by_case.items():
            evidence = case_evidence(self.clustering, members, values)
            for account in members:
                membership = self.memberships[account]
                membership.evidence, membership.link_strength = evidence[account]
                if membership.pk is not None:
                    updates.append(membership)
            case = self.cases[case_id]
            score, reasons = score_case(
                accounts=[accounts[a] for a in members],
                features=[features[a] for a in members if a in features],
                baseline=self.baseline,
            )
            if abs(score - case.risk_score) >= 0.001 or case.risk_reasons != reasons:
                before = case.risk_score
                case.risk_score, case.risk_reasons, case.updated_at = score, reasons, timezone.now()
                rescored.append(case)
                if abs(score - before) >= 0.01:
                    self.audit(
                        action="case.rescored",
                        obj=case,
                        reason=reasons[0]["text"] if reasons else "",
                        before={"risk_score": before},
                        after={"risk_score": score},
                    )
                self.stats["cases_rescored"] += 1
        # Stored evidence is not read back to compare: the update skips the rows that are equal.
        update_changed(Case, ("risk_score", "risk_reasons", "updated_at"), rescored)
        update_changed(CaseMembership, ("evidence", "link_strength"), updates)


def cases_sync(*, clustering: Clustering, refresh: set[int] | None = None) -> tuple[dict, set[int]]:
    """Map operator clusters onto cases (see the module docstring for the rules).

    `refresh`: the accounts a batch changed (evidence and scores of the cases concerned are
    refreshed, see `_CaseSync`), or None to refresh every case. Returns counts, and the cases
    whose members changed.
    """
    # The reference is every account outside the clusters being judged (see scoring.baseline_compute).
    baseline = baseline_compute(exclude=[a for accounts in clustering.components for a in accounts])
    with transaction.atomic():
        sync = _CaseSync(clustering, baseline, refresh)
        stats = sync.run()
    stats["components"] = len(clustering.components)
    return stats, sync.changed_cases
