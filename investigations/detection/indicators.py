"""The indicator index: every value an account exposes, and how many accounts share it.

"Who else has this value" is then one indexed query on `AccountIndicator`, and
`Indicator.account_count` says how rare the value is. The index is built with
`INSERT ... SELECT ... GROUP BY` statements so events are aggregated in the
database; only the SQL spelling of a few expressions differs between
PostgreSQL and SQLite (the embedded demo).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from django.db import connection

from config.db import chunked, replace_rows
from investigations.detection.event_stage import CHUNK, STAGE, scope_sql, stage_drop, stage_events
from investigations.detection.models import AccountIndicator, Indicator

Kind = Indicator.Kind

_ACCOUNTS = "accounts_account"
_IND = Indicator._meta.db_table
_AI = AccountIndicator._meta.db_table
_DIGITS = re.compile(r"[0-9]+")


def email_pattern(email: str) -> str:
    """The shape of an address with digit runs folded: `li.wei8812@mail.example` -> `li.wei#@mail.example`.

    Sign-up scripts mint addresses from a template plus a counter; the folded
    shape is what such a burst has in common.
    """
    return _DIGITS.sub("#", email.lower())


def _postgres() -> bool:
    return connection.vendor == "postgresql"


def _ensure_sqlite_functions() -> None:
    """SQLite has no regexp_replace: register the one Python function the index needs."""
    if not _postgres():
        connection.ensure_connection()
        connection.connection.create_function("hw_email_pattern", 1, email_pattern, deterministic=True)


_EVENT_KINDS = [
    (Kind.IP, "ip"),
    (Kind.ASN, "asn"),
    (Kind.USER_AGENT, "user_agent"),
    (Kind.JA4, "ja4"),
    (Kind.SYSTEM_PROMPT, "system_prompt"),
    (Kind.TOOLS, "tools"),
]
PROFILE_KINDS = (Kind.PAYMENT, Kind.ORG, Kind.SIGNUP_IP, Kind.SIGNUP_NET, Kind.EMAIL_DOMAIN, Kind.EMAIL_PATTERN)


def event_sources() -> list[tuple[str, str, str]]:
    """(kind, SQL value expression, SQL 'has a value' condition) over the staged event values."""
    sources = []
    for kind, col in _EVENT_KINDS:
        if kind == Kind.IP:
            sources.append((kind, "host(e.ip)" if _postgres() else "e.ip", "e.ip IS NOT NULL"))
        elif kind == Kind.ASN:
            sources.append((kind, "CAST(e.asn AS TEXT)", "e.asn IS NOT NULL"))
        else:
            sources.append((kind, f"e.{col}", f"e.{col} <> ''"))
    return sources


def profile_sources() -> list[tuple[str, str, str]]:
    """(kind, SQL value expression, condition) over the accounts table (sign-up facts)."""
    if _postgres():
        signup_ip = "host(e.signup_ip)"
        domain = "lower(substr(e.email, strpos(e.email, '@') + 1))"
        pattern = "regexp_replace(lower(e.email), '[0-9]+', '#', 'g')"
        has_at = "strpos(e.email, '@') > 0"
    else:
        signup_ip = "e.signup_ip"
        domain = "lower(substr(e.email, instr(e.email, '@') + 1))"
        pattern = "hw_email_pattern(e.email)"
        has_at = "instr(e.email, '@') > 0"
    return [
        (Kind.PAYMENT, "e.payment_fingerprint", "e.payment_fingerprint <> ''"),
        (Kind.ORG, "e.org_id", "e.org_id <> ''"),
        (Kind.SIGNUP_IP, signup_ip, "e.signup_ip IS NOT NULL"),
        # IPv4 /24: strip the last octet ("203.0.113." + "0/24"); IPv6 sign-ups keep only the exact address.
        (
            Kind.SIGNUP_NET,
            f"rtrim({signup_ip}, '0123456789') || '0/24'",
            f"e.signup_ip IS NOT NULL AND {signup_ip} NOT LIKE '%%:%%'",
        ),
        (Kind.EMAIL_DOMAIN, domain, has_at),
        (Kind.EMAIL_PATTERN, pattern, has_at),
    ]


def email_pattern_sql() -> tuple[str, str]:
    """(SQL expression, condition) of the e-mail pattern of account `e`, as the index derives it."""
    _ensure_sqlite_functions()
    for kind, expression, condition in profile_sources():
        if kind == Kind.EMAIL_PATTERN:
            return expression, condition
    raise LookupError(Kind.EMAIL_PATTERN)


def index_values(
    cursor, table: str, kind: str, expr: str, cond: str, scope: str = "", params=(), *, counted_by: str = ""
) -> None:
    """Add the values of one kind found in `table` (the stage or the accounts) to the value table.

    New values start at a count of 0 (the caller adds to it), or with `counted_by` (the account
    column, when `table` holds every account) at their number of accounts: a first full run
    then needs no second pass rewriting the count of every value it has just inserted.
    """
    count = f"COUNT(DISTINCT {counted_by})" if counted_by else "0"
    # Values already indexed are left out before grouping: a full run over existing values
    # counted every one of them only for ON CONFLICT to drop the result.
    cursor.execute(
        f"INSERT INTO {_IND} (kind, value, account_count) "
        f"SELECT %s, {expr}, {count} FROM {table} e WHERE {cond}{scope} "
        f"AND NOT EXISTS (SELECT 1 FROM {_IND} known WHERE known.kind = %s AND known.value = {expr}) "
        f"GROUP BY {expr} ON CONFLICT (kind, value) DO NOTHING",
        [kind, *params, kind],
    )


def _index_source(
    cursor, table: str, kind: str, expr: str, cond: str, ids: Sequence[int] | None, *, into: str = _AI
) -> None:
    account_col = "e.account_id" if table == STAGE else "e.id"
    count = "SUM(e.n)" if table == STAGE else "0"
    # The staged table already holds only the accounts in scope.
    scope, params = scope_sql(account_col, None if table == STAGE else ids)
    # Into the temporary rows, every account is read: the new values' counts are known.
    index_values(cursor, table, kind, expr, cond, scope, params, counted_by=account_col if into != _AI else "")
    conflict = " ON CONFLICT (account_id, indicator_id) DO UPDATE SET events = excluded.events" if into == _AI else ""
    cursor.execute(
        f"INSERT INTO {into} (account_id, indicator_id, events) "
        f"SELECT {account_col}, i.id, {count} FROM {table} e JOIN {_IND} i ON i.kind = %s AND i.value = {expr} "
        f"WHERE {cond}{scope} GROUP BY {account_col}, i.id{conflict}",
        [kind, *params],
    )


_ROWS = "hw_index_rows"


def _rebuild_all(cursor) -> int:
    """PostgreSQL, every account: derive all rows into a temporary table and write only the differences.

    Deleting the whole index and inserting it again rewrote every row, its three
    indexes and the count of every value on each full run; between two runs
    almost all of them are unchanged. Returns the number of accounts covered.
    """
    cursor.execute(f"DROP TABLE IF EXISTS {_ROWS}, hw_index_counts")
    cursor.execute(f"CREATE TEMP TABLE {_ROWS} (account_id bigint, indicator_id bigint, events bigint)")
    for kind, expr, cond in event_sources():
        _index_source(cursor, STAGE, kind, expr, cond, None, into=_ROWS)
    for kind, expr, cond in profile_sources():
        _index_source(cursor, _ACCOUNTS, kind, expr, cond, None, into=_ROWS)
    cursor.execute(f"ANALYZE {_ROWS}")
    replace_rows(cursor, _AI, _ROWS, ["account_id", "indicator_id"], "events")
    cursor.execute(f"CREATE TEMP TABLE hw_index_counts AS SELECT indicator_id, COUNT(*) AS n FROM {_ROWS} GROUP BY 1")
    cursor.execute(
        f"UPDATE {_IND} SET account_count = c.n FROM hw_index_counts c "
        f"WHERE c.indicator_id = {_IND}.id AND {_IND}.account_count <> c.n"
    )
    # Values no account has any more are dropped, as a recount to zero did.
    cursor.execute(
        f"DELETE FROM {_IND} i WHERE NOT EXISTS (SELECT 1 FROM hw_index_counts c WHERE c.indicator_id = i.id)"
    )
    cursor.execute(f"SELECT COUNT(DISTINCT account_id) FROM {_ROWS}")
    accounts = cursor.fetchone()[0]
    cursor.execute(f"DROP TABLE {_ROWS}, hw_index_counts")
    return accounts


def _indicator_ids_of(cursor, ids: Sequence[int]) -> set[int]:
    found: set[int] = set()
    for chunk in chunked(ids, CHUNK):
        cursor.execute(
            f"SELECT DISTINCT indicator_id FROM {_AI} WHERE account_id IN ({','.join(['%s'] * len(chunk))})",
            list(chunk),
        )
        found.update(row[0] for row in cursor.fetchall())
    return found


def _recount(cursor, indicator_ids: set[int] | None) -> None:
    """Refresh `account_count` for the given indicators (all when None) with one grouped UPDATE."""
    if indicator_ids is None:
        # Zero, recount, drop the zeros: linear, where `NOT IN (subquery)` degrades to quadratic
        # once the subquery no longer fits in memory.
        cursor.execute(f"UPDATE {_IND} SET account_count = 0 WHERE account_count <> 0")
        cursor.execute(
            f"UPDATE {_IND} SET account_count = c.n FROM "
            f"(SELECT indicator_id, COUNT(*) AS n FROM {_AI} GROUP BY indicator_id) c WHERE c.indicator_id = {_IND}.id"
        )
        cursor.execute(f"DELETE FROM {_IND} WHERE account_count = 0")
        return
    for chunk in chunked(sorted(indicator_ids), CHUNK):
        marks = ",".join(["%s"] * len(chunk))
        cursor.execute(
            f"UPDATE {_IND} SET account_count = (SELECT COUNT(*) FROM {_AI} ai WHERE ai.indicator_id = {_IND}.id) "
            f"WHERE id IN ({marks})",
            list(chunk),
        )


def indicators_refresh(*, account_ids: Sequence[int] | None = None, staged: bool = False) -> int:
    """Rebuild the index rows of the given accounts (every account when None) and the shared counts.

    For given accounts, deletes their rows and re-derives them from all their
    events and their current profile, then recounts every value those accounts
    had before or have now. `staged` (all accounts only): the caller has just
    built the event stage. Returns the number of accounts covered.
    """
    _ensure_sqlite_functions()
    with connection.cursor() as cursor:
        if account_ids is None and _postgres():
            if not staged:
                stage_events(cursor, None)
            accounts = _rebuild_all(cursor)
            stage_drop(cursor)
            return accounts
        if account_ids is None:
            cursor.execute(f"DELETE FROM {_AI}")
            if not staged:
                stage_events(cursor, None)
            for kind, expr, cond in event_sources():
                _index_source(cursor, STAGE, kind, expr, cond, None)
            for kind, expr, cond in profile_sources():
                _index_source(cursor, _ACCOUNTS, kind, expr, cond, None)
            _recount(cursor, None)
            stage_drop(cursor)
            cursor.execute(f"SELECT COUNT(DISTINCT account_id) FROM {_AI}")
            return cursor.fetchone()[0]
        ids = sorted(set(account_ids))
        touched = _indicator_ids_of(cursor, ids)
        for chunk in chunked(ids, CHUNK):
            cursor.execute(f"DELETE FROM {_AI} WHERE account_id IN ({','.join(['%s'] * len(chunk))})", list(chunk))
            stage_events(cursor, chunk)
            for kind, expr, cond in event_sources():
                _index_source(cursor, STAGE, kind, expr, cond, chunk)
            for kind, expr, cond in profile_sources():
                _index_source(cursor, _ACCOUNTS, kind, expr, cond, chunk)
        stage_drop(cursor)
        touched |= _indicator_ids_of(cursor, ids)
        _recount(cursor, touched)
        return len(ids)
