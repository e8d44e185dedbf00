"""`config.db.local_settings`: planner settings for a block of statements, then back to what they were."""

from __future__ import annotations

import pytest
from django.db import DataError, connection, transaction

from config.db import local_settings

pytestmark = pytest.mark.django_db


def _setting(cursor, name: str) -> str:
    cursor.execute("SELECT current_setting(%s)", [name])
    return cursor.fetchone()[0]


def test_settings_hold_inside_the_block_and_are_restored_after():
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL work_mem = '8MB'")
        with local_settings(cursor, {"enable_nestloop": "off", "work_mem": "512MB"}):
            assert (_setting(cursor, "enable_nestloop"), _setting(cursor, "work_mem")) == ("off", "512MB")
        assert (_setting(cursor, "enable_nestloop"), _setting(cursor, "work_mem")) == ("on", "8MB")


def test_settings_are_restored_when_the_block_fails():
    with transaction.atomic(), connection.cursor() as cursor:
        with pytest.raises(ZeroDivisionError), local_settings(cursor, {"enable_hashjoin": "off"}):
            raise ZeroDivisionError
        assert _setting(cursor, "enable_hashjoin") == "on"


def test_a_failing_statement_inside_surfaces_its_own_error_and_the_transaction_goes_on():
    with transaction.atomic(), connection.cursor() as cursor:
        with pytest.raises(DataError, match="division by zero"), local_settings(cursor, {"enable_hashjoin": "off"}):
            cursor.execute("SELECT 1 / 0")
        assert _setting(cursor, "enable_hashjoin") == "on"
