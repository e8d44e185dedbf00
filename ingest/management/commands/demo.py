"""`manage.py demo`: get the embedded demo ready (database, logins, scenario ingested) and say how to log in.

`make demo` runs this, then `runserver`. Every step reuses what a previous
run left under $HYDRA_VAR_DIR: no second ingest, the same logins.
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management import call_command, get_commands
from django.core.management.base import BaseCommand, CommandError, CommandParser

from ingest.models import Batch
from ingest.simulate.demo import demo_logins_ensure, demo_scenario_ensure
from investigations.models import Case


class Command(BaseCommand):
    help = "Prepare the demo: migrate, create demo logins once, generate and ingest the demo scenario once."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--accounts", type=int, default=1000, help="accounts in the demo scenario (first run only)")
        parser.add_argument(
            "--days", type=int, default=14, help="days of traffic in the demo scenario (first run only)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.EMBEDDED:
            raise CommandError("the demo runs embedded: unset DATABASE_URL and CELERY_BROKER_URL")
        began = time.monotonic()
        self._step("Migrating the embedded database", str(settings.DATABASES["default"]["NAME"]))
        call_command("migrate", interactive=False, verbosity=0)
        # Static files are served by finders in the demo; an existing STATIC_ROOT only keeps whitenoise from warning.
        Path(settings.STATIC_ROOT).mkdir(parents=True, exist_ok=True)

        logins, created = demo_logins_ensure()
        self._step("Demo logins", "created" if created else "reused")

        try:
            path, generated = demo_scenario_ensure(accounts=options["accounts"], days=options["days"])
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        if generated:
            counts = generated.counts
            self._step(
                "Generated the demo scenario",
                f"{path}: {generated.accounts} accounts, {counts['event']} events, {counts['alert']} alerts",
            )
        else:
            self._step("Demo scenario", f"reusing {path}")

        self._ingest(path)
        self._ensure_cases()

        url = f"http://{options['host']}:{options['port']}/"
        self.stdout.write(self.style.SUCCESS(f"\nReady in {time.monotonic() - began:.0f}s. Open {url}"))
        for login in logins:
            self.stdout.write(f"  {login.role:8} user {login.username:14} password {login.password}")
        self.stdout.write(f"(kept in {Path(settings.VAR_DIR) / 'demo-logins.txt'})")

    def _ingest(self, path: Path) -> None:
        """Ingest once: a finished batch of the same bytes is reused, an unfinished one resumed."""
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        batch = Batch.objects.filter(sha256=digest).order_by("pk").first()
        if batch is not None and batch.status == Batch.Status.DONE:
            self._step("Demo scenario already ingested", f"batch {batch.pk}")
            return
        self._step("Ingesting the demo scenario", "through the real pipeline, tasks in-process")
        if batch is not None and batch.status != Batch.Status.FAILED:
            call_command("ingest", "--resume", str(batch.pk), "--wait", stdout=self.stdout)
        else:
            call_command("ingest", str(path), "--wait", stdout=self.stdout)

    def _ensure_cases(self) -> None:
        """Detection runs after each ingested batch; if it left no case, run it once more directly."""
        if Case.objects.exists():
            self._step("Cases", f"{Case.objects.count()} found by detection")
            return
        if "detect" in get_commands():
            self._step("No cases yet", "running detection")
            call_command("detect", stdout=self.stdout)
        self._step("Cases", str(Case.objects.count()))

    def _step(self, title: str, detail: str = "") -> None:
        self.stdout.write(f"- {title}" + (f": {detail}" if detail else ""))
