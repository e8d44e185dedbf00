"""`python manage.py ingest PATH [PATH ...] [--wait] [--json]`, and `--resume ID` after a crash."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ingest import selectors, services
from ingest.models import Batch


class Command(BaseCommand):
    help = "Ingest batch files (NDJSON, optionally gzip) through the pipeline, or resume unfinished batches."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("paths", nargs="*", help="batch files to ingest")
        parser.add_argument("--wait", action="store_true", help="wait until every batch has finished")
        parser.add_argument("--json", action="store_true", help="print one JSON object per batch")
        parser.add_argument(
            "--resume", type=int, nargs="+", metavar="BATCH", help="re-enqueue what these batches still need"
        )
        parser.add_argument(
            "--resume-stale", action="store_true", help="resume every batch that made no progress for a while"
        )
        parser.add_argument(
            "--no-copy", action="store_true", help="read the files in place instead of copying them into storage"
        )
        parser.add_argument("--chunk-lines", type=int, default=None, help="lines per chunk (INGEST_CHUNK_LINES)")
        parser.add_argument("--timeout", type=float, default=24 * 3600, help="seconds --wait waits at most")

    def handle(self, *args: Any, **options: Any) -> None:
        batch_ids: list[int] = []
        for path in options["paths"]:
            if not Path(path).is_file():
                raise CommandError(f"no such file: {path}")
        if options["resume_stale"]:
            batch_ids += services.batches_resume_stale()
        for batch_id in options["resume"] or []:
            if not Batch.objects.filter(pk=batch_id).exists():
                raise CommandError(f"no batch {batch_id}")
            services.batch_resume(batch_id=batch_id)
            batch_ids.append(batch_id)
        for path in options["paths"]:
            batch = services.batch_create(
                source=Batch.Source.CLI,
                actor=None,
                path=path,
                copy=not options["no_copy"],
                chunk_lines=options["chunk_lines"],
            )
            batch_ids.append(batch.pk)
        if not batch_ids and not options["resume_stale"]:
            raise CommandError("give one or more PATHs, or --resume BATCH")

        if options["wait"]:
            deadline = time.monotonic() + options["timeout"]
            while Batch.objects.filter(pk__in=batch_ids).exclude(status__in=Batch.FINISHED).exists():
                if time.monotonic() > deadline:
                    raise CommandError("timed out waiting for the batches")
                time.sleep(0.5)
        failed = False
        for batch in Batch.objects.filter(pk__in=batch_ids).order_by("pk"):
            summary = selectors.batch_summary(batch)
            failed |= batch.status == Batch.Status.FAILED
            if options["json"]:
                self.stdout.write(json.dumps(summary))
            else:
                self.stdout.write(_human(summary))
        if failed:
            raise CommandError("some batches failed")


def _human(summary: dict[str, Any]) -> str:
    text = (
        f"batch {summary['batch']} {summary['filename']}: {summary['status']}; "
        f"{summary['accounts']} accounts, {summary['alerts']} alerts, {summary['events']} events new, "
        f"{summary['duplicates']} duplicates, {summary['rejected']} rejected"
    )
    if summary["duplicate_of"]:
        text += f"; same file as batch {summary['duplicate_of']}"
    if summary["error"]:
        text += f"; error: {summary['error']}"
    return text
