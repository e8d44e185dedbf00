"""`config.db.alongside`: work on a second connection while the caller goes on, or at once when asked."""

from __future__ import annotations

import threading
import time

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


def _slow(done: list[str]) -> None:
    time.sleep(0.3)
    done.append("finished")


@pytest.mark.django_db(transaction=True)
def test_an_error_in_the_background_surfaces_from_its_result_and_the_exit_waits_for_the_work():
    done: list[str] = []
    with alongside(background=True, name="helper") as submit:
        future = submit(_fail)
        submit(_slow, done=done)
    assert done == ["finished"]
    with pytest.raises(LookupError, match="no such batch"):
        future.result()


@pytest.mark.django_db(transaction=True)
def test_when_the_caller_fails_its_error_is_raised_and_the_threads_error_is_logged(caplog):
    with pytest.raises(ZeroDivisionError), alongside(background=True, name="helper") as submit:
        submit(_fail)
        raise ZeroDivisionError
    assert "the work alongside failed too" in caplog.text and "no such batch" in caplog.text


@pytest.mark.django_db
def test_not_in_the_background_it_runs_at_once_on_this_connection_and_raises_there():
    here = _backend()
    with alongside(background=False, name="helper") as submit:
        assert submit(_backend).result() == here
        with pytest.raises(LookupError):
            submit(_fail)
