"""`manage.py cases [--json] [--status S] [--min-score X]`: list the cases detection maintains."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from investigations.models import Case, CaseMembership


class Command(BaseCommand):
    help = "List cases with their accounts, flagged counts, risk scores and status."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--json", action="store_true", help="Print a JSON list.")
        parser.add_argument("--status", choices=Case.Status.values)
        parser.add_argument("--min-score", type=float, default=None)

    def handle(self, *args, **options) -> None:
        cases = Case.objects.filter(merged_into__isnull=True).order_by("-risk_score", "id")
        if options["status"]:
            cases = cases.filter(status=options["status"])
        if options["min_score"] is not None:
            if not 0.0 <= options["min_score"] <= 1.0:
                raise CommandError("--min-score must be between 0 and 1")
            cases = cases.filter(risk_score__gte=options["min_score"])
        members: dict[int, list[tuple[str, bool]]] = {}
        rows = CaseMembership.objects.filter(case__in=cases).values_list(
            "case_id", "account__account_id", "account__flagged_at"
        )
        for case_id, account, flagged_at in rows.order_by("account__account_id").iterator(chunk_size=5000):
            members.setdefault(case_id, []).append((account, flagged_at is not None))
        out = []
        for case in cases:
            accounts = members.get(case.pk, [])
            out.append(
                {
                    "case_id": case.pk,
                    "title": case.title,
                    "status": case.status,
                    "score": case.risk_score,
                    "accounts": [a for a, _ in accounts],
                    "flagged": [a for a, f in accounts if f],
                    "reasons": [r.get("text", "") for r in case.risk_reasons[:3]],
                }
            )
        if options["json"]:
            self.stdout.write(json.dumps(out, indent=1))
            return
        for case in out:
            self.stdout.write(
                f"#{case['case_id']:<5} {case['status']:<13} score {case['score']:.2f}  "
                f"{len(case['accounts'])} accounts ({len(case['flagged'])} flagged)  {case['title']}"
            )
            for reason in case["reasons"]:
                self.stdout.write(f"        - {reason}")
