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


def apply_snapshots(*, batch_id: int, snapshots: Iterable[AccountSnapshot], created: set[str]) -> tuple[int, int]:
    """Merge the chunk's snapshots into their (existing) account rows; returns (changed, updated).

    `created` are the account ids this chunk has just inserted: a change to one
    of them is part of a new account, not an update. Rows are locked in
    account-id order (FOR NO KEY UPDATE, which does not block the foreign-key
    checks of concurrent event inserts) so parallel chunks cannot deadlock here.
    """
    snapshots = sorted(snapshots, key=lambda s: s.line)
    if not snapshots:
        return 0, 0
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
    fields: list[Any] = [*SNAPSHOT_FIELDS, "snapshot_versions", "snapshot_batch_id", "snapshot_line"]
    Account.objects.bulk_update(list(dirty.values()), fields, batch_size=500)
    updated = len(touched - created)
    return len(touched), updated
