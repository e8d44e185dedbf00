"""A BRIN index on `UsageEvent.batch_id`, on PostgreSQL only.

Detection finds a batch's accounts with `WHERE batch_id = N`; without an index
that is a scan of the whole event table. Batch ids grow with insertion order,
so a BRIN index (one min/max summary per block range) pins a batch to its few
blocks while staying a few hundred kilobytes and costing next to nothing on
insert, unlike a btree over 16M rows. SQLite (the demo) has no BRIN and its
tables are small, so the operation does nothing there; the index is not in
`UsageEvent.Meta` for the same reason.
"""

from __future__ import annotations

from django.db import migrations

INDEX = "event_batch_brin"


def create_index(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        f"CREATE INDEX IF NOT EXISTS {INDEX} ON accounts_usageevent USING brin (batch_id) WITH (autosummarize = on)"
    )


def drop_index(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0004_account_first_batch"),
    ]

    operations = [
        migrations.RunPython(create_index, drop_index, elidable=False),
    ]
