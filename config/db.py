"""Database helpers shared by every app."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import TypeVar

from django.db import transaction

T = TypeVar("T")

# Values bound per statement in `pk__in=...` lookups. SQLite (the embedded demo) accepts at
# most 32,766 parameters in one statement, so long id lists are sent in chunks of this size.
IN_CHUNK = 10_000


def chunked(items: Sequence[T], size: int | None = None) -> Iterator[Sequence[T]]:
    """Consecutive slices of `items`, each at most `size` long (default IN_CHUNK, read at call time)."""
    size = size or IN_CHUNK
    for start in range(0, len(items), size):
        yield items[start : start + size]


@contextmanager
def local_settings(cursor, settings: dict[str, str]) -> Iterator[None]:
    """PostgreSQL: planner or memory settings for the statements inside, restored afterwards.

    The block runs in a savepoint (or its own transaction): transaction-local settings then take
    effect even for a caller in autocommit, and a statement failing inside rolls them back with
    it, so the caller sees that statement's error, not a failed restore in an aborted transaction.
    """
    names = list(settings)
    with transaction.atomic(using=cursor.db.alias):
        cursor.execute("SELECT " + ", ".join(["current_setting(%s)"] * len(names)), names)
        previous = dict(zip(names, cursor.fetchone(), strict=True))
        for name, value in settings.items():
            cursor.execute("SELECT set_config(%s, %s, true)", [name, value])
        yield
        for name, value in previous.items():
            cursor.execute("SELECT set_config(%s, %s, true)", [name, value])


def temp_table_from_rows(cursor, name: str, definition: str, columns: str, rows: Iterable[Sequence]) -> None:
    """PostgreSQL: (re)create temporary table `name` and COPY `rows` into its `columns`.

    `definition` follows `CREATE TEMP TABLE name`: a column list, or `AS SELECT … WITH NO DATA`.
    The way to hand many rows to one set-based statement: VALUES lists or ORM objects cost
    seconds per hundred thousand rows.
    """
    cursor.execute(f"DROP TABLE IF EXISTS {name}")
    cursor.execute(f"CREATE TEMP TABLE {name} {definition}")
    with cursor.copy(f"COPY {name} ({columns}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
