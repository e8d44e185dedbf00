"""Enforcement test fixtures."""

from __future__ import annotations

import pytest

from tests.enforcement.factories import ensure_role_groups


@pytest.fixture(autouse=True)
def _role_groups(request) -> None:
    """A transactional test's flush removes the role groups (made by a migration); bring them back."""
    if "django_db" in request.keywords or {"db", "transactional_db"} & set(request.fixturenames):
        ensure_role_groups()
