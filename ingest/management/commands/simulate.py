"""`manage.py simulate`: write a realistic batch and its ground truth (logic in ingest.simulate)."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ingest.simulate import MIXES, build_config, default_truth_path, simulate


class Command(BaseCommand):
    help = "Write a simulated flagged-account batch (NDJSON, .gz by name) and a ground-truth file."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--accounts", type=int, default=3000, help="total accounts (default 3000)")
        parser.add_argument("--days", type=int, default=14, help="days of traffic (default 14)")
        parser.add_argument("--seed", type=int, default=1, help="random seed: same seed, same file")
        parser.add_argument("--out", required=True, help="batch file; ends in .gz for gzip")
        parser.add_argument("--truth", help="ground-truth file (default: OUT with .ndjson[.gz] -> .truth.json)")
        parser.add_argument("--mix", default="default", choices=sorted(MIXES), help="population mix")
        parser.add_argument("--start", help="first day, YYYY-MM-DD (default 2026-01-05)")

    def handle(self, *args: Any, **options: Any) -> None:
        start = None
        if options["start"]:
            try:
                start = dt.date.fromisoformat(str(options["start"]))
            except ValueError as exc:
                raise CommandError(f"--start must be YYYY-MM-DD: {exc}") from exc
        try:
            config = build_config(
                accounts=options["accounts"],
                days=options["days"],
                seed=options["seed"],
                mix=str(options["mix"]),
                start=start,
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        out = Path(str(options["out"]))
        truth = Path(str(options["truth"])) if options["truth"] else default_truth_path(out)
        if truth.resolve() == out.resolve():
            raise CommandError("--truth must differ from --out")
        began = time.monotonic()
        try:
            result = simulate(config, out=out, truth=truth)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        elapsed = time.monotonic() - began
        counts = result.counts
        kinds = ", ".join(f"{n} {kind}" for kind, n in sorted(result.operators.items()))
        self.stdout.write(
            f"wrote {out}: {counts['account']} account records, {counts['alert']} alerts, "
            f"{counts['event']} events in {elapsed:.1f}s\n"
            f"{result.accounts} accounts ({result.stubs} stubs without a record, {result.flagged} flagged); "
            f"operators: {kinds}\n"
            f"truth: {truth}"
        )
