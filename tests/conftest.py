"""Fixtures shared by the whole suite.

Tests run on PostgreSQL (DATABASE_URL) with tasks eager by default; a test that
needs the real thing asks for `celery_worker`, which starts a worker process
on the Redis broker against the test database.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.models import Group, User
from django.db import connection

from config.celery import CeleryQueue
from config.celery import app as celery_app
from investigations.roles import sync_role_groups

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"


@pytest.fixture(autouse=True)
def _media_storage(settings, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def _celery_eager() -> Iterator[None]:
    """Tasks run in-process unless a test starts a real worker."""
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = True


@pytest.fixture
def shared_dir() -> Path:
    return SHARED


def make_user(username: str, role: str | None, *, password: str = "pw-for-tests-only") -> User:
    user = User.objects.create_user(username=username, password=password, email=f"{username}@hydra.test")
    if role:
        user.groups.add(_role_group(role))
    return user


def _role_group(role: str) -> Group:
    group = Group.objects.filter(name=role).first()
    if group is None:
        # A flush without post_migrate (e.g. TRUNCATE by a test) left no groups: rebuild them.
        sync_role_groups()
        group = Group.objects.get(name=role)
    return group


@pytest.fixture
def viewer(db) -> User:
    return make_user("vera-viewer", "viewer")


@pytest.fixture
def analyst(db) -> User:
    return make_user("ana-analyst", "analyst")


@pytest.fixture
def analyst2(db) -> User:
    return make_user("arno-analyst", "analyst")


@pytest.fixture
def lead(db) -> User:
    return make_user("lea-lead", "lead")


@pytest.fixture
def lead2(db) -> User:
    return make_user("leo-lead", "lead")


@pytest.fixture
def analyst_client(client, analyst):
    client.force_login(analyst)
    return client


@dataclass
class WorkerProcess:
    """A Celery worker started by a test; `kill()` is SIGKILL, as a crash would be."""

    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def kill(self) -> None:
        # The worker's pool children die with their process group.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def _worker_env() -> dict[str, str]:
    db = connection.settings_dict
    env = dict(os.environ)
    env["DATABASE_URL"] = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    env["MEDIA_ROOT"] = str(django_settings.MEDIA_ROOT)
    env["CELERY_BROKER_URL"] = django_settings.CELERY_BROKER_URL
    env["DB_CONN_MAX_AGE"] = "0"
    return env


def _wait_until_ready(worker: WorkerProcess, name: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if worker.process.poll() is not None:
            raise RuntimeError(f"Celery worker exited early:\n{worker.log()}")
        replies = celery_app.control.ping(destination=[name], timeout=0.5) or []
        if replies:
            return
        time.sleep(0.3)
    worker.kill()
    raise RuntimeError(f"Celery worker not ready after {timeout}s:\n{worker.log()}")


@pytest.fixture
def celery_worker(transactional_db, tmp_path: Path) -> Iterator[Callable[..., WorkerProcess]]:
    """Start real worker processes: `celery_worker(queues=[...], concurrency=1)`.

    The test must use committed data (this fixture implies `transactional_db`).
    Queued messages from earlier tests are purged first.
    """
    if not django_settings.CELERY_BROKER_URL:
        pytest.fail("CELERY_BROKER_URL must point at Redis for worker tests (make test sets it)")
    celery_app.conf.task_always_eager = False
    started: list[WorkerProcess] = []

    def start(*, queues: list[str] | None = None, concurrency: int = 1) -> WorkerProcess:
        if not started:
            celery_app.control.purge()
        name = f"test{len(started)}-{os.getpid()}@localhost"
        log_path = tmp_path / f"worker{len(started)}.log"
        queue_names = ",".join(queues or [q.value for q in CeleryQueue])
        cmd = [
            sys.executable, "-m", "celery", "-A", "config", "worker", "-l", "info", "-n", name,
            "-Q", queue_names, "-c", str(concurrency), "-P", "prefork",
            "--without-gossip", "--without-mingle", "--without-heartbeat",
        ]  # fmt: skip
        log = log_path.open("wb")
        proc = subprocess.Popen(cmd, cwd=ROOT, env=_worker_env(), stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)  # fmt: skip
        worker = WorkerProcess(process=proc, log_path=log_path)
        started.append(worker)
        _wait_until_ready(worker, name)
        return worker

    yield start
    for worker in started:
        worker.stop()
    celery_app.control.purge()
    celery_app.conf.task_always_eager = True
