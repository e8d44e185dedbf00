"""A BRIN index on `UsageEvent.ts` (PostgreSQL only), for detection's reads of one day of events.

After a batch, prompt echoes are looked for among *all* events of the days the
batch covers, and the event table has no index on time alone: without one each
day is a scan of the whole table. Events arrive in time order (a batch covers
the latest hours or days), so one min/max summary per block range pins a day to
its few blocks at a few hundred kilobytes and next to no cost on insert, unlike
a btree over 16M rows. Like `event_batch_brin` (accounts migration 0005) it is
not in `UsageEvent.Meta`: SQLite (the demo) has no BRIN and small tables.
"""

from __future__ import annotations

from django.db import migrations

INDEX = "event_ts_brin"


def create_index(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        f"CREATE INDEX IF NOT EXISTS {INDEX} ON accounts_usageevent USING brin (ts) WITH (autosummarize = on)"
    )


def drop_index(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0005_event_batch_brin"),
        ("detection", "0002_account_batch"),
    ]

    operations = [
        migrations.RunPython(create_index, drop_index, elidable=False),
    ]
