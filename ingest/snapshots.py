"""Account snapshots: "last batch wins", decided field by field.

A snapshot replaces the fields it carries and leaves the others alone, so each
field remembers the (batch id, line) of the snapshot that set it
(`Account.snapshot_versions`). A snapshot only overwrites a field set by an
older one. Chunks of one batch may commit in any order and an old batch may be
re-run later: the result is the same as loading every snapshot in order.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import connection

from accounts.models import Account
from ingest.validation import AccountSnapshot

SNAPSHOT_FIELDS = (
    "created_at", "email", "org_id", "tier", "verification", "country", "payment_fingerprint",
    "signup_ip", "signup_user_agent", "provider_status",
)  # fmt: skip


def merge_snapshot(account: Account, snapshot: AccountSnapshot, batch_id: int) -> bool:
    """Apply the newer fields of `snapshot` to `account` in memory; True when a value changed."""
    version = [batch_id, snapshot.line]
    versions: dict[str, list[int]] = account.snapshot_versions
    changed = False
    for name, value in snapshot.fields.items():
        current = versions.get(name)
        if current is not None and current >= version:
            continue
        versions[name] = version
        if getattr(account, name) != value:
            setattr(account, name, value)
            changed = True
    if account.snapshot_batch_id is None or [account.snapshot_batch_id, account.snapshot_line or 0] < version:
        account.snapshot_batch_id, account.snapshot_line = batch_id, snapshot.line
    return changed


def apply_snapshots(*, batch_id: int, snapshots: Iterable[AccountSnapshot]) -> list[int]:
    """Merge the chunk's snapshots into their (existing) account rows; returns the ids of those updated.

    Accounts this batch created (stubs included) are new, not updated. Rows are locked in
    account-id order (FOR NO KEY UPDATE, which does not block the foreign-key
    checks of concurrent event inserts) so parallel chunks cannot deadlock here.
    """
    snapshots = sorted(snapshots, key=lambda s: s.line)
    if not snapshots:
        return []
    ids = sorted({s.account_id for s in snapshots})
    queryset = Account.objects.filter(account_id__in=ids).order_by("account_id")
    if connection.features.has_select_for_no_key_update:
        queryset = queryset.select_for_update(no_key=True)
    accounts = {a.account_id: a for a in queryset}
    dirty: dict[str, Account] = {}
    touched: set[str] = set()
    for snapshot in snapshots:
        account = accounts[snapshot.account_id]
        before = (account.snapshot_batch_id, account.snapshot_line, dict(account.snapshot_versions))
        if merge_snapshot(account, snapshot, batch_id):
            touched.add(snapshot.account_id)
        if (account.snapshot_batch_id, account.snapshot_line, account.snapshot_versions) != before:
            dirty[snapshot.account_id] = account
    _write(list(dirty.values()))
    return sorted(accounts[i].pk for i in touched if accounts[i].first_batch_id != batch_id)


_WRITE_FIELDS = [*SNAPSHOT_FIELDS, "snapshot_versions", "snapshot_batch_id", "snapshot_line"]


def _write(accounts: list[Account]) -> None:
    """Store merged accounts. On PostgreSQL one UPDATE … FROM a staging table; elsewhere one UPDATE
    per row. Django's bulk_update builds a CASE per field and row: minutes for 24,000 accounts."""
    if not accounts:
        return
    if connection.vendor != "postgresql":
        for account in accounts:
            Account.objects.filter(pk=account.pk).update(**{name: getattr(account, name) for name in _WRITE_FIELDS})
        return
    import json

    with connection.cursor() as django_cursor:
        cursor = django_cursor.cursor
        cursor.execute(
            "CREATE TEMP TABLE ingest_stage_accounts (id int8, created_at timestamptz, email text, org_id text,"
            " tier text, verification text, country text, payment_fingerprint text, signup_ip text,"
            " signup_user_agent text, provider_status text, snapshot_versions text, snapshot_batch_id int8,"
            " snapshot_line int4) ON COMMIT DROP"
        )
        with cursor.copy("COPY ingest_stage_accounts FROM STDIN") as copy:
            for a in accounts:
                row: list[Any] = [a.pk, *(getattr(a, name) for name in SNAPSHOT_FIELDS)]
                row += [json.dumps(a.snapshot_versions), a.snapshot_batch_id, a.snapshot_line]
                copy.write_row(row)
        assignments = ", ".join(f"{name} = s.{name}" for name in SNAPSHOT_FIELDS if name != "signup_ip")
        cursor.execute(
            f"UPDATE accounts_account a SET {assignments}, signup_ip = s.signup_ip::inet,"
            " snapshot_versions = s.snapshot_versions::jsonb, snapshot_batch_id = s.snapshot_batch_id,"
            " snapshot_line = s.snapshot_line FROM ingest_stage_accounts s WHERE a.id = s.id"
        )
        cursor.execute("DROP TABLE ingest_stage_accounts")
