"""`manage.py evaluate --truth TRUTH.json [--json]`: score the current cases against a simulator's ground truth."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from investigations.detection.evaluation import TruthError, evaluate, evaluation_text, truth_load


class Command(BaseCommand):
    help = "B-cubed P/R/F1, legitimate accounts in attacker cases, unflagged attackers found, ROC AUC."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--truth", required=True, help="Ground truth JSON written by `simulate --out`.")
        parser.add_argument("--json", action="store_true")

    def handle(self, *args, **options) -> None:
        try:
            truth = truth_load(options["truth"])
        except TruthError as exc:
            raise CommandError(str(exc)) from exc
        result = evaluate(truth=truth)
        self.stdout.write(json.dumps(result, indent=1) if options["json"] else evaluation_text(result))
