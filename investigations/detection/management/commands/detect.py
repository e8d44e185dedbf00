"""`manage.py detect [--batch ID] [--full]`: run detection now (the same service the post-batch task calls)."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from ingest.models import Batch
from investigations.detection.services import detection_run


class Command(BaseCommand):
    help = "Refresh features, indicators and links, then open/grow/merge cases."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--batch", type=int, help="Only the accounts this batch touched (incremental).")
        parser.add_argument("--full", action="store_true", help="Recompute everything (the default without --batch).")

    def handle(self, *args, **options) -> None:
        batch_id = options["batch"]
        if batch_id is not None and not Batch.objects.filter(pk=batch_id).exists():
            raise CommandError(f"no batch {batch_id}")
        run = detection_run(batch_id=batch_id, full=options["full"] or batch_id is None)
        self.stdout.write(f"detection run {run.pk} ({run.mode}): {json.dumps(run.stats, sort_keys=True)}")
