"""`config.db.alongside`: work on a second connection while the caller goes on, or at once when asked."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from config.db import alongside


def _backend() -> tuple[int, str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()" if connection.vendor == "postgresql" else "SELECT 0")
        return cursor.fetchone()[0], threading.current_thread().name


def _fail() -> None:
    raise LookupError("no such batch")


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="a second connection to the test database")
def test_in_the_background_it_runs_in_its_own_thread_on_its_own_connection():
    here = _backend()
    with alongside(background=True, name="helper") as submit:
        there = submit(_backend).result()
    assert there[0] != here[0] and there[1].startswith("helper")


@pytest.mark.django_db(transaction=True)
def test_an_error_in_the_background_surfaces_from_its_result_and_the_exit_waits_for_it():
    with alongside(background=True, name="helper") as submit:
        future = submit(_fail)
    assert future.done()
    with pytest.raises(LookupError, match="no such batch"):
        future.result()


@pytest.mark.django_db
def test_not_in_the_background_it_runs_at_once_on_this_connection_and_raises_there():
    here = _backend()
    with alongside(background=False, name="helper") as submit:
        assert submit(_backend).result() == here
        with pytest.raises(LookupError):
            submit(_fail)
