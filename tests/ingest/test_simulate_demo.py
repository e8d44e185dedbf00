"""`manage.py demo` prepares everything once and reuses it on the next run."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command

from ingest.models import Batch
from ingest.simulate.demo import demo_logins_ensure, logins_path
from investigations.models import AuditEntry
from investigations.roles import Role
from tests.conftest import _role_group

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _role_groups() -> None:
    """The groups come from a migration; an earlier transactional test's flush may have removed them."""
    _role_group(Role.ANALYST)


@pytest.fixture
def var_dir(settings, tmp_path: Path) -> Path:
    settings.VAR_DIR = tmp_path / "var"
    return settings.VAR_DIR


def test_logins_are_created_once_and_kept_private(var_dir: Path) -> None:
    first, created = demo_logins_ensure()
    assert created
    again, created_again = demo_logins_ensure()
    assert not created_again and again == first
    for login in first:
        user = User.objects.get(username=login.username)
        assert user.check_password(login.password)
        assert user.groups.filter(name=login.role).exists()
    assert {login.role for login in first} == {"analyst", "lead"}
    assert stat.S_IMODE(logins_path().stat().st_mode) == 0o600
    assert AuditEntry.objects.filter(action="user.created").count() == 2


def test_logins_are_rekeyed_when_the_file_no_longer_matches(var_dir: Path) -> None:
    first, _ = demo_logins_ensure()
    logins_path().unlink()
    second, created = demo_logins_ensure()
    assert created and second != first
    assert User.objects.filter(username__startswith="demo-").count() == 2
    assert all(User.objects.get(username=x.username).check_password(x.password) for x in second)


@pytest.mark.django_db(transaction=True)
def test_demo_ingests_the_scenario_once_and_reuses_everything(settings, var_dir: Path, capsys) -> None:
    # Committed for real: the ingest enqueues its tasks on commit and the command waits for them.
    settings.EMBEDDED = True
    call_command("demo", "--accounts", "80", "--days", "1", "--port", "8123")
    first = capsys.readouterr().out
    assert "http://127.0.0.1:8123/" in first and "demo-analyst" in first
    assert (var_dir / "demo" / "scenario.ndjson.gz").exists()
    assert (var_dir / "demo" / "scenario.truth.json").exists()
    batch = Batch.objects.get()
    assert batch.status == Batch.Status.DONE and batch.events_new > 0

    call_command("demo", "--accounts", "80", "--days", "1", "--port", "8123")
    second = capsys.readouterr().out
    assert Batch.objects.count() == 1
    assert "already ingested" in second
    passwords = [line.split()[-1] for line in first.splitlines() if "password" in line]
    assert passwords and all(p in second for p in passwords)


def test_demo_refuses_to_run_against_a_server_database(settings) -> None:
    settings.EMBEDDED = False
    with pytest.raises(CommandError, match="embedded"):
        call_command("demo")
