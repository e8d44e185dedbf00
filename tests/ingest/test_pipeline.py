"""The pipeline end to end on PostgreSQL (tasks eager): counts, idempotency, snapshots, stubs, errors.

Most tests run twice: with the COPY fast path and with the generic ORM loader
the embedded (SQLite) mode uses, so both keep the same rules.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import transaction
from django.test import TestCase

from accounts.models import Account, UsageEvent
from accounts.simhash import hex_to_signed
from ingest import services
from ingest.loaders import generic, postgres
from ingest.models import Batch, BatchChunk, RejectedLine
from investigations.models import Alert, AuditEntry
from tests.ingest.conftest import account, alert, encode, event

pytestmark = pytest.mark.django_db


@pytest.fixture(params=["postgres", "generic"])
def loader(request, monkeypatch):
    module = postgres if request.param == "postgres" else generic
    monkeypatch.setattr("ingest.services.get_loader", lambda: module)
    return module


def run(function, **kwargs):
    """Call a service and run what it enqueued after commit (the test's transaction never commits)."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        return function(**kwargs)


def ingest(path, chunk_lines: int = 1000, **kwargs) -> Batch:
    batch = run(
        services.batch_create, source=Batch.Source.CLI, actor=None, path=path, chunk_lines=chunk_lines, **kwargs
    )
    batch.refresh_from_db()
    return batch


def test_the_shared_sample(shared_dir, loader):
    batch = ingest(shared_dir / "samples/example-batch.ndjson", chunk_lines=3)
    assert batch.status == Batch.Status.DONE, batch.error
    assert (batch.accounts_new, batch.alerts_new, batch.events_new, batch.duplicates, batch.rejected) == (4, 2, 5, 0, 0)
    assert batch.chunks_total == batch.chunks_done == 4 and batch.lines_total == 10
    stub = Account.objects.get(account_id="acct_0004")
    assert stub.is_stub and stub.email == ""
    flagged = Account.objects.get(account_id="acct_0003")
    assert flagged.flagged_at == dt.datetime(2026, 2, 3, 2, 5, tzinfo=dt.UTC)  # 10:05+08:00
    assert not Account.objects.get(account_id="acct_0001").is_flagged
    assert UsageEvent.objects.get(event_id="req_000002").prompt_simhash == hex_to_signed("4b72c6bee5b384b2")
    assert Alert.objects.get(alert_id="al_5001").source == Alert.Source.UPSTREAM
    assert AuditEntry.objects.filter(action="batch.created", object_id=str(batch.pk)).exists()
    assert AuditEntry.objects.filter(action="batch.finished", object_id=str(batch.pk)).exists()


def test_the_same_file_twice_stores_nothing_new(shared_dir, loader):
    first = ingest(shared_dir / "samples/example-batch.ndjson")
    second = ingest(shared_dir / "samples/example-batch.ndjson")
    assert second.status == Batch.Status.DONE and second.duplicate_of_id == first.pk
    assert (second.accounts_new, second.alerts_new, second.events_new, second.duplicates) == (0, 0, 0, 7)
    assert UsageEvent.objects.count() == 5 and Alert.objects.count() == 2 and Account.objects.count() == 4


def test_duplicates_within_and_across_batches_are_counted_and_skipped(batch_file, loader):
    first = ingest(batch_file([event("e1"), event("e2"), alert("a1"), event("e1"), alert("a1")]), chunk_lines=2)
    assert (first.events_new, first.alerts_new, first.duplicates) == (2, 1, 2)
    second = ingest(batch_file([event("e2"), event("e3"), alert("a1"), alert("a2")], name="b2.ndjson"))
    assert second.duplicate_of_id is None
    assert (second.events_new, second.alerts_new, second.duplicates) == (1, 1, 2)
    assert UsageEvent.objects.count() == 3 and Alert.objects.count() == 2


def test_a_stored_event_deep_in_a_chunk_is_a_duplicate_whichever_insert_finds_it(batch_file, loader):
    """Past the first staged ids the COPY path's plain insert meets the duplicate itself and falls back."""
    ingest(batch_file([event("old_1"), event("old_2")], name="b1.ndjson"))
    records = [event(f"new_{i}") for i in range(1500)] + [event("old_2"), event("new_3"), event("old_1")]
    batch = ingest(batch_file(records, name="b2.ndjson"), chunk_lines=5000)
    assert (batch.events_new, batch.duplicates) == (1500, 3)
    assert UsageEvent.objects.count() == 1502
    assert UsageEvent.objects.filter(batch_id=batch.pk).count() == 1500


def test_every_event_field_is_stored_as_validated(batch_file, loader):
    """The COPY path encodes rows itself (inet included); both loaders must store the same values."""
    full = {
        "api_key_id": "key_9", "asn": 4294967295, "user_agent": "ua/1 «é»", "ja4": "t13d", "model": "frontier",
        "input_tokens": 0, "output_tokens": 2147483647, "category": "coding", "cot_requested": False,
        "system_prompt_sha256": "a" * 64, "tools_sha256": "b" * 64, "prompt_simhash": "8000000000000001",
        "prompt_excerpt": "line\nbreak \u2603",
    }  # fmt: skip
    ips = ["203.0.113.9", "2001:db8::1", "::ffff:198.51.100.7", "::", "0.0.0.0"]
    records = [event(f"ip{n}", account_id=f"acct_{n % 2}", ip=ip, **full) for n, ip in enumerate(ips)]
    records += [event("bare", ts="2026-02-01T10:00:00.123456+05:30")]
    batch = ingest(batch_file(records), chunk_lines=4)
    assert (batch.events_new, batch.duplicates) == (6, 0), batch.error
    stored = {e.event_id: e for e in UsageEvent.objects.select_related("account")}
    for n, ip in enumerate(ips):
        row = stored[f"ip{n}"]
        assert row.ip == ip and row.account.account_id == f"acct_{n % 2}" and row.batch_id == batch.pk
        assert {name: getattr(row, name) for name in full if name != "prompt_simhash"} == {
            name: value for name, value in full.items() if name != "prompt_simhash"
        }
        assert row.prompt_simhash == hex_to_signed("8000000000000001")
        assert row.ts == dt.datetime(2026, 2, 1, 10, tzinfo=dt.UTC)
    bare = stored["bare"]
    assert (bare.ip, bare.asn, bare.input_tokens, bare.cot_requested, bare.prompt_simhash) == (None,) * 5
    assert (bare.api_key_id, bare.category, bare.prompt_excerpt) == ("", "", "")
    assert bare.ts == dt.datetime(2026, 2, 1, 4, 30, 0, 123456, tzinfo=dt.UTC)


def test_rejected_lines_keep_line_number_and_reason_and_the_rest_is_stored(batch_file, loader):
    path = batch_file([event("e1"), "{broken", "", event("e2", ts="2026-01-01"), event("e3")])
    batch = ingest(path, chunk_lines=2)
    assert batch.status == Batch.Status.DONE and batch.events_new == 2 and batch.rejected == 2
    rejected = list(RejectedLine.objects.filter(batch=batch).values_list("line_no", "reason"))
    assert [n for n, _ in rejected] == [2, 4]
    assert rejected[0][1].startswith("not valid JSON") and '"ts" must be an RFC 3339 timestamp' in rejected[1][1]


def test_a_file_where_every_line_is_rejected_fails_the_batch(batch_file, loader):
    batch = ingest(batch_file(["hello,world", "1,2,3"], name="data.csv"))
    assert batch.status == Batch.Status.FAILED and "all 2 non-blank lines were rejected" in batch.error
    assert batch.rejected == 2 and RejectedLine.objects.filter(batch=batch).count() == 2


@pytest.mark.parametrize(
    ("content", "error"),
    [(b"", "empty file"), (b"\x89PNG\r\n\x1a\n\x00\x00\x00", "PNG image")],
)
def test_batch_level_errors_store_nothing(tmp_path, content, error):
    path = tmp_path / "bad.ndjson"
    path.write_bytes(content)
    batch = ingest(path)
    assert batch.status == Batch.Status.FAILED and error in batch.error
    assert not BatchChunk.objects.filter(batch=batch).exists() and not RejectedLine.objects.exists()
    assert AuditEntry.objects.filter(action="batch.failed", object_id=str(batch.pk)).exists()


def test_a_truncated_gzip_loads_nothing_even_from_its_readable_start(tmp_path):
    import gzip
    import os

    lines = [event(f"e{i}", prompt_excerpt=os.urandom(20).hex()) for i in range(3000)]
    data = gzip.compress(encode(lines))
    path = tmp_path / "cut.ndjson.gz"
    path.write_bytes(data[: len(data) // 2])
    batch = ingest(path, chunk_lines=100)
    assert batch.status == Batch.Status.FAILED and "broken gzip" in batch.error
    assert UsageEvent.objects.count() == 0 and Account.objects.count() == 0


def test_snapshots_last_batch_wins_and_omitted_fields_keep_their_values(batch_file, loader):
    old = ingest(batch_file([account("a1", email="old@example.org", tier="free", country="DE")], name="1.ndjson"))
    new = ingest(batch_file([account("a1", email="new@example.org", status="suspended")], name="2.ndjson"))
    acc = Account.objects.get(account_id="a1")
    assert (acc.email, acc.tier, acc.country, acc.provider_status) == ("new@example.org", "free", "DE", "suspended")
    assert (old.accounts_new, new.accounts_new, new.accounts_updated) == (1, 0, 1)
    assert (acc.snapshot_batch_id, acc.snapshot_line) == (new.pk, 1)

    # Re-running the older batch's snapshot never overwrites what the newer one set.
    with transaction.atomic():
        line = encode([account("a1", email="old@example.org", tier="build")])[:-1]
        loader.load_chunk(batch_id=old.pk, lines=[(1, line)])
    acc.refresh_from_db()
    assert acc.email == "new@example.org" and acc.tier == "free"


def test_an_account_updated_by_several_chunks_counts_once(batch_file, loader):
    ingest(batch_file([account("a1", tier="free"), account("a2", tier="free")], name="1.ndjson"))
    records = [account("a1", tier="build"), account("a2", tier="scale"), account("a1", tier="scale")]
    batch = ingest(batch_file(records, name="2.ndjson"), chunk_lines=1)
    assert batch.chunks_total == 3
    assert (batch.accounts_new, batch.accounts_updated) == (0, 2)
    assert Account.objects.get(account_id="a1").tier == "scale"


def test_snapshots_of_one_batch_merge_in_line_order_whatever_the_chunk_order(batch_file, loader):
    path = batch_file([
        account("a1", email="first@example.org", tier="free"),
        account("a1", email="second@example.org"),
    ])  # fmt: skip
    batch = ingest(path, chunk_lines=1, copy=False)
    acc = Account.objects.get(account_id="a1")
    assert (acc.email, acc.tier) == ("second@example.org", "free")
    # Loading line 1 again (as a late chunk would) changes nothing.
    with transaction.atomic():
        loader.load_chunk(batch_id=batch.pk, lines=[(1, encode([account("a1", email="first@example.org")])[:-1])])
    acc.refresh_from_db()
    assert acc.email == "second@example.org"


def test_stub_accounts_are_filled_by_a_later_snapshot(batch_file, loader):
    first_alert = alert("x1", account_id="ghost", raised_at="2026-03-01T00:00:00Z")
    ingest(batch_file([event("e1", account_id="ghost"), first_alert]))
    ghost = Account.objects.get(account_id="ghost")
    assert ghost.is_stub and ghost.flagged_at == dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
    earlier_alert = alert("x0", account_id="ghost", raised_at="2026-02-01T00:00:00Z")
    later = ingest(batch_file([account("ghost", tier="research"), earlier_alert], name="2.ndjson"))
    ghost.refresh_from_db()
    assert not ghost.is_stub and ghost.tier == "research" and later.accounts_updated == 1 and later.accounts_new == 0
    assert ghost.flagged_at == dt.datetime(2026, 2, 1, tzinfo=dt.UTC)  # the earliest alert


def test_a_chunk_runs_once_even_if_delivered_twice(batch_file):
    batch = ingest(batch_file([event("e1"), event("e2")]))
    chunk = BatchChunk.objects.get(batch=batch)
    run(services.chunk_load, chunk_id=chunk.pk)
    batch.refresh_from_db()
    assert batch.events_new == 2 and batch.duplicates == 0 and UsageEvent.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_a_database_outage_mid_chunk_leaves_it_pending_and_resume_completes_it(batch_file, monkeypatch):
    """The connection is killed (pg_terminate_backend) after the rows are staged: nothing commits."""
    from celery.exceptions import Retry
    from django.db import OperationalError, connection

    path = batch_file([event(f"e{i}") for i in range(10)])
    calls = {"n": 0}
    original = postgres.load

    def dying_load(prepared, **kwargs):
        counts = original(prepared, **kwargs)
        calls["n"] += 1
        if calls["n"] == 2:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_terminate_backend(pg_backend_pid())")
        return counts

    monkeypatch.setattr(postgres, "load", dying_load)
    # Eagerly, the task's retry surfaces as celery's Retry; a worker would redeliver the task.
    with pytest.raises((OperationalError, Retry)):
        services.batch_create(source=Batch.Source.CLI, actor=None, path=path, chunk_lines=4)
    connection.close()  # as the task does before its retry
    batch = Batch.objects.get()
    assert batch.status == Batch.Status.LOADING and batch.chunks_done == 1
    assert UsageEvent.objects.count() == 4
    assert run(services.batch_resume, batch_id=batch.pk) == 2
    batch.refresh_from_db()
    assert batch.status == Batch.Status.DONE and (batch.events_new, batch.duplicates) == (10, 0)
    assert UsageEvent.objects.count() == 10


def test_the_sweeper_resumes_a_split_whose_worker_died_and_leaves_fresh_batches_alone(batch_file):
    from datetime import timedelta

    from django.utils import timezone

    path = batch_file([event("e1"), event("e2")])
    with TestCase.captureOnCommitCallbacks(execute=False):  # the split task is never run: its worker "died"
        batch = services.batch_create(source=Batch.Source.CLI, actor=None, path=path)
    Batch.objects.filter(pk=batch.pk).update(status=Batch.Status.SPLITTING, split_token="dead")
    assert run(services.batches_resume_stale, stale_after=timedelta(minutes=5)) == []  # still fresh

    Batch.objects.filter(pk=batch.pk).update(heartbeat_at=timezone.now() - timedelta(minutes=10))
    assert run(services.batches_resume_stale, stale_after=timedelta(minutes=5)) == [batch.pk]
    batch.refresh_from_db()
    assert batch.status == Batch.Status.DONE and batch.events_new == 2
    assert AuditEntry.objects.filter(action="batch.resumed", object_id=str(batch.pk)).exists()


def test_a_superseded_splitter_discards_its_work(batch_file, monkeypatch):
    """A resume while the first splitter still runs: only one set of chunks is created."""
    path = batch_file([event(f"e{i}") for i in range(5)])
    real_split = services.split_file

    def split_then_get_superseded(*args, **kwargs):
        result = real_split(*args, **kwargs)
        Batch.objects.update(split_token="someone-else")
        return result

    monkeypatch.setattr("ingest.services.split_file", split_then_get_superseded)
    batch = ingest(path, chunk_lines=2)
    assert batch.status == Batch.Status.SPLITTING and not BatchChunk.objects.exists()


def test_a_chunk_that_cannot_load_fails_the_batch_with_its_reason(batch_file, monkeypatch):
    def broken_prepare(**kwargs):
        raise ValueError("disk full")

    monkeypatch.setattr(postgres, "prepare", broken_prepare)
    batch = ingest(batch_file([event("e1")]))
    assert batch.status == Batch.Status.FAILED
    assert batch.error == "chunk 1 (lines 1-1) could not be loaded: disk full"
    assert not UsageEvent.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_chunk_commits_its_stub_accounts_before_its_rows(batch_file, monkeypatch):
    """Concurrent chunks naming the same new accounts must not wait on each other's uncommitted stubs."""
    from django.db import connections

    seen = []
    original = postgres.load

    def load_seen_from_another_session(prepared, **kwargs):
        other = connections.create_connection("default")
        try:
            with other.cursor() as cursor:
                cursor.execute("SELECT account_id FROM accounts_account ORDER BY account_id")
                seen.append([row[0] for row in cursor.fetchall()])
                cursor.execute("SELECT count(*) FROM accounts_usageevent")
                seen.append(cursor.fetchone()[0])
        finally:
            other.close()
        return original(prepared, **kwargs)

    monkeypatch.setattr(postgres, "load", load_seen_from_another_session)
    batch = ingest(batch_file([event("e1", account_id="x"), event("e2", account_id="y")]))
    assert seen == [["x", "y"], 0]
    assert batch.status == Batch.Status.DONE and (batch.accounts_new, batch.events_new) == (2, 2)


@pytest.mark.django_db(transaction=True)
def test_new_accounts_are_counted_exactly_when_a_chunk_dies_after_committing_its_stubs(batch_file, monkeypatch):
    from celery.exceptions import Retry
    from django.db import OperationalError

    original = postgres.load
    calls = {"n": 0}

    def load_once_dying(prepared, **kwargs):
        calls["n"] += 1
        if calls["n"] == 1:
            raise OperationalError("server closed the connection unexpectedly")
        return original(prepared, **kwargs)

    monkeypatch.setattr(postgres, "load", load_once_dying)
    path = batch_file([event("e1", account_id="x"), event("e2", account_id="y")])
    with pytest.raises((OperationalError, Retry)):
        services.batch_create(source=Batch.Source.CLI, actor=None, path=path)
    batch = Batch.objects.get()
    assert batch.status == Batch.Status.LOADING and Account.objects.count() == 2 and not UsageEvent.objects.exists()
    run(services.batch_resume, batch_id=batch.pk)
    batch.refresh_from_db()
    assert batch.status == Batch.Status.DONE and (batch.accounts_new, batch.events_new) == (2, 2)


def test_the_stalled_batch_sweeper_is_on_the_beat_schedule():
    from django.conf import settings

    from ingest.tasks import ingest_resume_stale

    entry = settings.CELERY_BEAT_SCHEDULE["ingest-resume-stale"]
    assert entry["task"] == ingest_resume_stale.name
    assert entry["schedule"] < settings.INGEST_STALE_SECONDS


def test_event_ids_compare_byte_by_byte_and_the_staging_join_agrees(batch_file):
    """Migration 0006: the unique index skips locale-aware comparisons; staging uses the same collation."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT collation_name FROM information_schema.columns "
            "WHERE table_name = 'accounts_usageevent' AND column_name = 'event_id'"
        )
        assert cursor.fetchone() == ("C",)
    ingest(batch_file([event("Ev-1"), event("ev-1")], name="b1.ndjson"))
    # The re-sent batch goes through the stage-to-table join that spots stored ids.
    again = ingest(batch_file([event("ev-1"), event("Ev-1"), event("ev-2")], name="b2.ndjson"))
    assert (again.events_new, again.duplicates) == (1, 2)
    assert sorted(UsageEvent.objects.values_list("event_id", flat=True)) == ["Ev-1", "ev-1", "ev-2"]


@pytest.mark.django_db(transaction=True)
def test_an_account_another_chunk_creates_between_lookup_and_insert_gets_its_key_and_is_not_counted():
    from django.db import connection, connections

    class AnotherChunkCreatesLate:
        """Delegates to the cursor; after the first lookup, another session commits the account 'late'."""

        def __init__(self, cursor):
            self.cursor, self.lookups = cursor, 0

        def execute(self, sql, params=None):
            self.cursor.execute(sql, params)
            if sql is not postgres._ACCOUNT_KEYS:
                return
            self.lookups += 1
            if self.lookups == 1:
                other = connections.create_connection("default")
                try:
                    with other.cursor() as cursor:
                        cursor.execute(postgres._INSERT_STUBS, [99, ["late"]])
                finally:
                    other.close()

        def fetchall(self):
            return self.cursor.fetchall()

    Account.objects.create(account_id="known")
    with transaction.atomic(), connection.cursor() as cursor:
        racing = AnotherChunkCreatesLate(cursor.cursor)
        keys, created = postgres._account_keys(racing, 1, {"known", "late", "new"})
    assert racing.lookups == 2 and created == 1
    assert keys == dict(Account.objects.values_list("account_id", "pk"))
    assert set(keys) == {"known", "late", "new"}
