"""Writes of the ingest app: create a batch, split it, load its chunks, finish, fail, resume.

The pipeline (every entry point goes through `batch_create`):

    batch_create -> [task] batch_split -> [task per chunk] chunk_load -> batch_finish

Every step claims its row with a conditional UPDATE, so running a step twice
(a Celery redelivery, `ingest --resume`, the stale-batch sweeper) does nothing
the second time. A chunk's rows and its counts commit in one transaction: a
worker killed mid-chunk leaves the chunk pending and the database unchanged.
"""

from __future__ import annotations

import logging
import os
import uuid
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import User
from django.core.files import File
from django.db import InterfaceError, OperationalError, transaction
from django.db.models import F, Q, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.models import Account
from ingest import storage
from ingest.loaders import ChunkCounts, get_loader
from ingest.models import Batch, BatchChunk
from ingest.reader import BatchFileError
from ingest.splitter import split_file
from investigations.detection.tasks import detect_after_batch
from investigations.services.audit import audit_record

log = logging.getLogger(__name__)

COUNT_FIELDS = tuple(ChunkCounts().as_dict())


class _Superseded(Exception):
    """Another splitter took the batch over (`batch_resume`); this one stops quietly."""


def _enqueue_split(batch_id: int) -> None:
    from ingest import tasks

    tasks.ingest_batch_split.delay_on_commit(batch_id)


def _enqueue_chunks(chunk_ids: list[int]) -> None:
    from ingest import tasks

    for chunk_id in chunk_ids:
        tasks.ingest_chunk_load.delay_on_commit(chunk_id)


@transaction.atomic
def batch_create(
    *,
    source: str,
    actor: User | None,
    upload: File | None = None,
    path: str | Path | None = None,
    copy: bool = True,
    chunk_lines: int | None = None,
    ip: str | None = None,
) -> Batch:
    """Register a batch file and enqueue its ingestion (after commit).

    Give either `upload` (an uploaded file, stored under MEDIA_ROOT) or `path`
    (a local file: copied into storage, or read in place with `copy=False`).
    In embedded mode the tasks run in-process, so the batch is finished when
    this returns.
    """
    if (upload is None) == (path is None):
        raise ValueError("give exactly one of upload or path")
    batch = Batch(
        source=source,
        created_by=actor if actor is not None and actor.is_authenticated else None,
        chunk_lines=chunk_lines or settings.INGEST_CHUNK_LINES,
        heartbeat_at=timezone.now(),
    )
    if upload is not None:
        batch.filename = os.path.basename(upload.name or "upload.ndjson")[:255]
        batch.size_bytes = upload.size or 0
        batch.file.save(batch.filename, upload, save=False)
    else:
        source_path = Path(path).resolve()  # type: ignore[arg-type]
        batch.filename = source_path.name[:255]
        batch.size_bytes = source_path.stat().st_size
        if copy:
            with source_path.open("rb") as f:
                batch.file.save(batch.filename, File(f), save=False)
        else:
            batch.source_path = str(source_path)
    batch.save()
    audit_record(
        actor=actor,
        action="batch.created",
        obj=batch,
        after={"filename": batch.filename, "size_bytes": batch.size_bytes, "source": source},
        ip=ip,
    )
    _enqueue_split(batch.pk)
    return batch


def batch_split(*, batch_id: int) -> None:
    """Split a pending batch into chunks and enqueue one load task per chunk.

    The whole file is read (and a gzip fully decompressed) before any chunk
    exists, so a broken file fails the batch with nothing loaded.
    """
    token = uuid.uuid4().hex
    now = timezone.now()
    claimed = Batch.objects.filter(pk=batch_id, status=Batch.Status.PENDING).update(
        status=Batch.Status.SPLITTING, split_token=token, heartbeat_at=now, started_at=Coalesce(F("started_at"), now)
    )
    if not claimed:
        return
    batch = Batch.objects.get(pk=batch_id)

    def heartbeat() -> None:
        alive = Batch.objects.filter(pk=batch_id, status=Batch.Status.SPLITTING, split_token=token)
        if not alive.update(heartbeat_at=timezone.now()):
            raise _Superseded

    try:
        with storage.batch_path(batch).open("rb") as raw:
            result = split_file(
                raw, out_dir=storage.chunk_dir(batch_id, token), chunk_lines=batch.chunk_lines, heartbeat=heartbeat
            )
    except _Superseded:
        storage.remove_chunk_files(batch_id, token)
        return
    except BatchFileError as exc:
        storage.remove_chunk_files(batch_id, token)
        batch_fail(batch_id=batch_id, error=str(exc), split_token=token)
        return
    except (OSError, ValueError) as exc:
        storage.remove_chunk_files(batch_id, token)
        batch_fail(batch_id=batch_id, error=f"cannot read the batch file: {exc}", split_token=token)
        return

    with transaction.atomic():
        owned = Batch.objects.filter(pk=batch_id, status=Batch.Status.SPLITTING, split_token=token).update(
            status=Batch.Status.LOADING,
            sha256=result.sha256,
            size_bytes=result.size_bytes,
            lines_total=result.lines_total,
            chunks_total=len(result.chunks),
            heartbeat_at=timezone.now(),
        )
        if not owned:
            transaction.on_commit(lambda: storage.remove_chunk_files(batch_id, token))
            return
        earlier = (
            Batch.objects.filter(sha256=result.sha256, pk__lt=batch_id)
            .exclude(status=Batch.Status.FAILED)
            .order_by("-pk")
            .first()
        )
        if earlier is not None and earlier.status == Batch.Status.DONE:
            _finish_as_duplicate(batch_id=batch_id, earlier=earlier)
            transaction.on_commit(lambda: storage.remove_chunk_files(batch_id, token))
            return
        if earlier is not None:
            # Still running: load anyway (ids make it idempotent) but say which batch it repeats.
            Batch.objects.filter(pk=batch_id).update(duplicate_of=earlier)
        chunks = BatchChunk.objects.bulk_create(
            BatchChunk(
                batch_id=batch_id,
                index=spec.index,
                first_line=spec.first_line,
                line_count=spec.line_count,
                byte_offset=spec.byte_offset,
                byte_length=spec.byte_length,
                file=storage.chunk_name(spec.path) if spec.path else "",
            )
            for spec in result.chunks
        )
        _enqueue_chunks([c.pk for c in chunks])


def _finish_as_duplicate(*, batch_id: int, earlier: Batch) -> None:
    """The same bytes were ingested completely before: store nothing, point at that batch."""
    skipped = earlier.alerts_new + earlier.events_new + earlier.duplicates
    Batch.objects.filter(pk=batch_id).update(
        status=Batch.Status.DONE,
        duplicate_of=earlier,
        chunks_total=0,
        duplicates=skipped,
        finished_at=timezone.now(),
    )
    batch = Batch.objects.get(pk=batch_id)
    audit_record(
        actor=None,
        action="batch.finished",
        obj=batch,
        reason=f"same file as batch {earlier.pk}: nothing new stored",
        after={"duplicate_of": earlier.pk, "duplicates": skipped},
    )


def _lock_pending_chunk(chunk_id: int) -> tuple[BatchChunk, Batch] | None:
    """The chunk, locked, if it is still pending and its batch is loading; inside a transaction."""
    # A redundant delivery waits here until the first one commits (or its dead connection is
    # cleaned up) and then finds the chunk done. Skipping locked rows instead could lose a chunk
    # whose lock still belongs to a killed worker's backend.
    # `of=self` and no ordering: the default ordering joins Batch, and locking the batch row
    # would run the chunks of a batch one after the other.
    pending = BatchChunk.objects.filter(pk=chunk_id, status=BatchChunk.Status.PENDING).order_by()
    chunk = pending.select_for_update(of=("self",)).first()
    if chunk is None:
        return None
    batch = Batch.objects.get(pk=chunk.batch_id)
    if batch.status != Batch.Status.LOADING:
        return None
    return chunk, batch


def _chunk_failure(chunk: BatchChunk, exc: Exception) -> str:
    """Not transient (a value the database refuses, a missing file, a bug): retrying cannot help, so
    the batch fails with the reason instead of waiting forever. Rolls back the current transaction."""
    log.exception("chunk %s of batch %s failed", chunk.index, chunk.batch_id)
    transaction.set_rollback(True)
    last = chunk.first_line + chunk.line_count - 1
    return f"chunk {chunk.index + 1} (lines {chunk.first_line}-{last}) could not be loaded: {exc}"


def chunk_load(*, chunk_id: int) -> None:
    """Validate and load one chunk, then finish the batch if it was the last one.

    Two transactions: `prepare` validates and stages the chunk and commits the stub accounts it
    names (so that concurrent chunks never wait on each other's uncommitted stubs); `load` stores
    the rows and marks the chunk done with its counts, in one transaction, so a second delivery of
    the same task finds it done and returns, and a crash in between leaves it pending.
    """
    loader = get_loader()
    failure = ""
    with transaction.atomic():
        if (locked := _lock_pending_chunk(chunk_id)) is None:
            return
        chunk, batch = locked
        try:
            with storage.open_chunk_lines(chunk, batch) as lines:
                prepared = loader.prepare(batch_id=batch.pk, lines=lines)
        except (OperationalError, InterfaceError):
            raise  # transient: the task retries, the transaction has rolled back
        except Exception as exc:
            failure = _chunk_failure(chunk, exc)
    if not failure:
        with transaction.atomic():
            if (locked := _lock_pending_chunk(chunk_id)) is None:
                loader.discard(prepared)
                return
            chunk, batch = locked
            try:
                with storage.open_chunk_lines(chunk, batch) as lines:
                    counts = loader.load(prepared, lines=lines)
            except (OperationalError, InterfaceError):
                raise
            except Exception as exc:
                failure = _chunk_failure(chunk, exc)
            else:
                # Same transaction as the rows: the chunk is done, with its counts, or not at all.
                values = counts.as_dict()
                BatchChunk.objects.filter(pk=chunk.pk, status=BatchChunk.Status.PENDING).update(
                    status=BatchChunk.Status.DONE,
                    finished_at=timezone.now(),
                    updated_accounts=counts.updated_accounts,
                    **values,
                )
                # Progress while loading; batch_finish replaces the account counts by exact ones.
                Batch.objects.filter(pk=batch.pk).update(
                    chunks_done=F("chunks_done") + 1,
                    heartbeat_at=timezone.now(),
                    **{name: F(name) + value for name, value in values.items() if name != "records"},
                )
    if failure:
        # After the rollback, so that nothing of the chunk is kept.
        batch_fail(batch_id=batch.pk, error=failure)
        return
    batch_finish(batch_id=batch.pk)


def batch_finish(*, batch_id: int) -> bool:
    """The single place where a batch finishes successfully; True if this call finished it.

    Runs after every chunk; only the call that sees no pending chunk and wins
    the conditional UPDATE finishes the batch, with totals summed from its
    chunks. Work that must follow every ingested batch (detection) is enqueued
    at the end of this function, after commit.
    """
    with transaction.atomic():
        chunks = BatchChunk.objects.filter(batch_id=batch_id)
        if chunks.filter(status=BatchChunk.Status.PENDING).exists():
            return False
        totals = chunks.aggregate(**{name: Coalesce(Sum(name), 0) for name in COUNT_FIELDS})
        records = totals.pop("records")
        # Chunk sums can count an account twice: updated by two chunks, or created by a chunk whose
        # first attempt committed its stubs (prepare) and died before its rows.
        totals["accounts_new"] = Account.objects.filter(first_batch_id=batch_id).count()
        updated: set[int] = set()
        for ids in chunks.values_list("updated_accounts", flat=True):
            updated.update(ids)
        totals["accounts_updated"] = len(updated)
        if records == 0:
            rejected = totals["rejected"]
            transaction.on_commit(
                lambda: batch_fail(
                    batch_id=batch_id,
                    error=f"no valid record: all {rejected} non-blank lines were rejected (see the rejected lines)",
                    counts=totals,
                )
            )
            return False
        finished = Batch.objects.filter(pk=batch_id, status=Batch.Status.LOADING).update(
            status=Batch.Status.DONE, finished_at=timezone.now(), chunks_done=chunks.count(), **totals
        )
        if not finished:
            return False
        audit_record(actor=None, action="batch.finished", obj=Batch.objects.get(pk=batch_id), after=totals)
        transaction.on_commit(lambda: storage.remove_chunk_files(batch_id))
        detect_after_batch.delay_on_commit(batch_id)
    return True


def batch_fail(*, batch_id: int, error: str, split_token: str | None = None, counts: dict | None = None) -> bool:
    """Mark a batch failed with a batch-level error (unless it already finished)."""
    with transaction.atomic():
        running = Batch.objects.filter(pk=batch_id).exclude(status__in=[Batch.Status.DONE, Batch.Status.FAILED])
        if split_token is not None:
            running = running.filter(split_token=split_token)
        failed = running.update(
            status=Batch.Status.FAILED, error=error[:2000], finished_at=timezone.now(), **(counts or {})
        )
        if failed:
            audit_record(actor=None, action="batch.failed", obj=Batch.objects.get(pk=batch_id), reason=error[:500])
    return bool(failed)


@transaction.atomic
def batch_resume(*, batch_id: int, actor: User | None = None, stale_after: timedelta | None = None) -> int:
    """Re-enqueue whatever a batch still needs; returns how many tasks were enqueued.

    Use it after a worker crash or a database outage: `python manage.py ingest
    --resume ID`. With `stale_after` (the sweeper) only batches that made no
    progress for that long are touched; without it the resume is forced, and a
    splitter that might still be running is superseded. Redundant tasks are
    harmless: every step claims its row first.
    """
    batch = Batch.objects.select_for_update().get(pk=batch_id)
    if stale_after is not None and batch.heartbeat_at and batch.heartbeat_at > timezone.now() - stale_after:
        return 0
    enqueued = 0
    if batch.status in (Batch.Status.PENDING, Batch.Status.SPLITTING) or (
        batch.status == Batch.Status.FAILED and batch.chunks_total == 0
    ):
        Batch.objects.filter(pk=batch_id).update(
            status=Batch.Status.PENDING, split_token="", error="", finished_at=None, heartbeat_at=timezone.now()
        )
        _enqueue_split(batch_id)
        enqueued = 1
    elif batch.status in (Batch.Status.LOADING, Batch.Status.FAILED):
        Batch.objects.filter(pk=batch_id).update(
            status=Batch.Status.LOADING, error="", finished_at=None, heartbeat_at=timezone.now()
        )
        pending = list(batch.chunks.filter(status=BatchChunk.Status.PENDING).values_list("pk", flat=True))
        _enqueue_chunks(pending)
        if not pending:
            transaction.on_commit(lambda: batch_finish(batch_id=batch_id))
        enqueued = max(len(pending), 1)
    if enqueued:
        audit_record(actor=actor, action="batch.resumed", obj=batch, after={"tasks": enqueued})
    return enqueued


def batches_resume_stale(*, stale_after: timedelta | None = None) -> list[int]:
    """The sweeper: resume every unfinished batch that made no progress for `stale_after`.

    With the Redis broker, the message of a killed worker only comes back after
    the visibility timeout; this brings the batch back much sooner.
    """
    stale_after = stale_after or timedelta(seconds=settings.INGEST_STALE_SECONDS)
    cutoff = timezone.now() - stale_after
    stale = Batch.objects.filter(
        Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True),
        status__in=[Batch.Status.PENDING, Batch.Status.SPLITTING, Batch.Status.LOADING],
    ).values_list("pk", flat=True)
    resumed = [pk for pk in stale if batch_resume(batch_id=pk, stale_after=stale_after)]
    if resumed:
        log.info("resumed stale batches %s", resumed)
    return resumed
