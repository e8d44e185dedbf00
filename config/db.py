"""Database helpers shared by every app."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any, NamedTuple, TypeVar

from django.db import connection, models, transaction

T = TypeVar("T")
logger = logging.getLogger(__name__)

# Values bound per statement in `pk__in=...` lookups. SQLite (the embedded demo) accepts at
# most 32,766 parameters in one statement, so long id lists are sent in chunks of this size.
IN_CHUNK = 10_000


def chunked(items: Sequence[T], size: int | None = None) -> Iterator[Sequence[T]]:
    """Consecutive slices of `items`, each at most `size` long (default IN_CHUNK, read at call time)."""
    size = size or IN_CHUNK
    for start in range(0, len(items), size):
        yield items[start : start + size]


class InFilter(NamedTuple):
    """A raw-SQL condition to follow a column's name (`= ANY(%s)`, `IN (...)`), and its parameters."""

    sql: str
    params: list


def in_filters(values: Iterable[T]) -> Iterator[InFilter]:
    """Conditions that together select these values (ids, say), for raw SQL; none for no values.

    PostgreSQL: one `= ANY(array)`, whatever the count (a long `IN` list costs its parsing).
    Elsewhere: `IN (...)` per IN_CHUNK values, within SQLite's parameter limit.
    """
    values = list(values)
    if connection.vendor == "postgresql":
        if values:
            yield InFilter("= ANY(%s)", [values])
        return
    for chunk in chunked(values):
        yield InFilter(f"IN ({', '.join(['%s'] * len(chunk))})", list(chunk))


@contextmanager
def alongside(*, background: bool, name: str) -> Iterator[Callable[..., Future]]:
    """Yields `submit(fn, **kwargs)`, which runs `fn` in a thread on its own connection while the
    caller goes on (`background`), or at once, here (then its error is raised by `submit`).

    In the thread, `fn` sees only what is committed: use `background` only outside any
    transaction of the caller's that wrote what `fn` reads (a test's, for one). The block's
    exit waits for the thread, also when the caller fails.
    """
    if not background:

        def now(fn: Callable[..., Any], **kwargs: Any) -> Future:
            done: Future = Future()
            done.set_result(fn(**kwargs))
            return done

        yield now
        return
    futures: list[Future] = []
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix=name) as pool:

        def submit(fn: Callable[..., Any], **kwargs: Any) -> Future:
            future = pool.submit(_on_own_connection, fn, kwargs)
            futures.append(future)
            return future

        try:
            yield submit
        except BaseException:
            # The caller's error is the one raised; one of the thread's own would be lost unseen.
            pool.shutdown(wait=True)
            for future in futures:
                if not future.cancelled() and future.exception() is not None:
                    logger.error("%s: the work alongside failed too", name, exc_info=future.exception())
            raise


def _on_own_connection(fn: Callable[..., Any], kwargs: dict[str, Any]) -> Any:
    """In a helper thread: Django gave it a connection of its own, closed when `fn` is done."""
    try:
        return fn(**kwargs)
    finally:
        connection.close()


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


def update_changed(model, fields: Sequence[str], objs: Sequence) -> None:
    """Store `fields` of these saved objects, writing only the rows whose stored values differ.

    On PostgreSQL through COPY and one joined UPDATE that skips equal rows: `bulk_update`
    spells each batch of rows as CASE expressions (25 s for the JSON evidence of 24,000 case
    members here), and comparing in Python would first read every stored value back.
    """
    if not objs:
        return
    meta = model._meta
    columns = [meta.get_field(name) for name in fields]
    if connection.vendor != "postgresql":
        stored: dict = {}
        for chunk in chunked([obj.pk for obj in objs]):
            stored.update((row[0], row[1:]) for row in model.objects.filter(pk__in=chunk).values_list("pk", *fields))
        changed = [obj for obj in objs if stored.get(obj.pk) != tuple(getattr(obj, name) for name in fields)]
        model.objects.bulk_update(changed, list(fields), batch_size=1000)
        return

    def cell(column, value):  # COPY reads JSON as its text
        return json.dumps(value) if isinstance(column, models.JSONField) else value

    rows = ((obj.pk, *(cell(column, getattr(obj, column.attname)) for column in columns)) for obj in objs)
    names = [column.column for column in columns]
    definition = ", ".join(f"{name} {column.db_type(connection)}" for name, column in zip(names, columns, strict=True))
    with connection.cursor() as cursor:
        temp_table_from_rows(cursor, "hw_update", f"(pk bigint, {definition})", f"pk, {', '.join(names)}", rows)
        cursor.execute(
            f"UPDATE {meta.db_table} t SET {', '.join(f'{n} = u.{n}' for n in names)} FROM hw_update u "
            f"WHERE t.{meta.pk.column} = u.pk "
            f"AND ({', '.join(f't.{n}' for n in names)}) IS DISTINCT FROM ({', '.join(f'u.{n}' for n in names)})"
        )
        cursor.execute("DROP TABLE hw_update")


def replace_rows(cursor, table: str, source: str, keys: Sequence[str], value: str, *, nullable: str = "") -> None:
    """PostgreSQL: make `table`'s rows equal to the temporary table `source`, writing only what differs.

    Both hold the columns `keys` (unique together in `table`, and NOT NULL in `source` but for
    `nullable`, a key compared through COALESCE with -1) and `value`; `table` has an `id`. One
    full join finds every difference (a row gone, a value changed, a row new) into a small
    table the writes then read: on a full detection run the derived rows (1.9M indicator rows,
    200k batch records) are nearly all unchanged, and rewriting them left as many dead rows.
    An empty `table` (a first run) takes `source` as it is.
    """

    def key(side: str, column: str) -> str:
        return f"COALESCE({side}.{column}, -1)" if column == nullable else f"{side}.{column}"

    same = " AND ".join(f"{key('n', k)} = {key('t', k)}" for k in keys)
    columns = ", ".join([*keys, value])
    order = ", ".join(f"n.{k}" for k in keys)
    cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {table})")
    if cursor.fetchone()[0]:
        # Hash joins only. After a VACUUM while the table was empty its statistics still say so, and
        # the planner picks a nested loop that re-scans it for every row: quadratic, 300k of 1.9M
        # indicator rows in 19 minutes here. (The key expressions are hashable; IS NOT DISTINCT FROM is not.)
        with local_settings(cursor, {"enable_nestloop": "off"}):
            cursor.execute("DROP TABLE IF EXISTS hw_diff")
            cursor.execute(
                f"CREATE TEMP TABLE hw_diff AS SELECT t.id, {', '.join(f'n.{c}' for c in [*keys, value])} "
                f"FROM {source} n FULL JOIN {table} t ON {same} "
                f"WHERE n.{keys[0]} IS NULL OR t.id IS NULL OR t.{value} <> n.{value}"
            )
        cursor.execute("ANALYZE hw_diff")
        cursor.execute(f"DELETE FROM {table} WHERE id IN (SELECT id FROM hw_diff WHERE {keys[0]} IS NULL)")
        cursor.execute(
            f"UPDATE {table} t SET {value} = d.{value} FROM hw_diff d WHERE d.id = t.id AND d.{keys[0]} IS NOT NULL"
        )
        source = "hw_diff n WHERE n.id IS NULL"
    else:
        source = f"{source} n"
    # In the unique index's order: each leaf page is visited once, not once per row (a first run's
    # 1.9M indicator rows went in in 13 s instead of 27 s here).
    cursor.execute(f"INSERT INTO {table} ({columns}) SELECT {', '.join(f'n.{c}' for c in [*keys, value])} "
                   f"FROM {source} ORDER BY {order}")  # fmt: skip
    cursor.execute("DROP TABLE IF EXISTS hw_diff")
