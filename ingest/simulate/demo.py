"""The demo's state under $HYDRA_VAR_DIR: its logins and its scenario batch.

`manage.py demo` calls these; each step reuses what an earlier run left, so
running the demo twice never creates a second set of logins or a second copy
of the data.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import Group, User
from django.db import transaction

from ingest.simulate.batch import SimulationResult, simulate
from ingest.simulate.config import build_config
from investigations.roles import Role
from investigations.services.audit import audit_record

DEMO_USERS = [(Role.ANALYST, "demo-analyst"), (Role.LEAD, "demo-lead")]
SCENARIO_NAME = "scenario.ndjson.gz"
SCENARIO_SEED = 2026
_HEADER = "# Hydra Watch demo logins: role username password (delete this file for new passwords)"


@dataclass(frozen=True)
class DemoLogin:
    role: str
    username: str
    password: str


def logins_path() -> Path:
    return Path(settings.VAR_DIR) / "demo-logins.txt"


def scenario_path() -> Path:
    return Path(settings.VAR_DIR) / "demo" / SCENARIO_NAME


def _read_logins(path: Path) -> list[DemoLogin]:
    if not path.exists():
        return []
    logins = []
    for line in path.read_text().splitlines():
        parts = line.split()
        if len(parts) == 3 and not line.startswith("#"):
            logins.append(DemoLogin(*parts))
    return logins


def _still_valid(logins: list[DemoLogin]) -> bool:
    """The file matches the database: every demo user exists, has its role and the recorded password."""
    if sorted((login.role, login.username) for login in logins) != sorted((str(r), u) for r, u in DEMO_USERS):
        return False
    for login in logins:
        user = User.objects.filter(username=login.username, is_active=True).first()
        if user is None or not user.groups.filter(name=login.role).exists() or not user.check_password(login.password):
            return False
    return True


@transaction.atomic
def demo_logins_ensure() -> tuple[list[DemoLogin], bool]:
    """The demo's logins, created (or re-keyed) only when the kept file no longer matches. Returns (logins, created)."""
    path = logins_path()
    logins = _read_logins(path)
    if _still_valid(logins):
        return logins, False
    logins = []
    for role, username in DEMO_USERS:
        password = secrets.token_urlsafe(12)
        user, created = User.objects.get_or_create(username=username, defaults={"email": f"{username}@demo.invalid"})
        user.set_password(password)
        user.is_active = True
        user.save()
        user.groups.add(Group.objects.get(name=role))
        audit_record(
            actor=None,
            action="user.created" if created else "user.password_reset",
            obj=user,
            reason=f"demo login ({role}) set up by manage.py demo",
            after={"username": username, "role": str(role)},
        )
        logins.append(DemoLogin(str(role), username, password))
    path.parent.mkdir(parents=True, exist_ok=True)
    body = "\n".join([_HEADER, *(f"{x.role} {x.username} {x.password}" for x in logins)]) + "\n"
    # Written before commit: if the write fails, the new passwords are rolled back with it.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(body)
    return logins, True


def demo_scenario_ensure(*, accounts: int, days: int) -> tuple[Path, SimulationResult | None]:
    """The scenario file, generated once (ending yesterday, so the dashboard looks current)."""
    path = scenario_path()
    if path.exists():
        return path, None
    start = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=days)
    config = build_config(accounts=accounts, days=days, seed=SCENARIO_SEED, start=start)
    result = simulate(config, out=path, truth=path.with_name("scenario.truth.json"))
    return path, result
