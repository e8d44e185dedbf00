"""Event ids compare byte by byte (`COLLATE "C"`), on PostgreSQL only.

The unique index on `event_id` is the costliest part of storing an event: every
insert descends a btree of millions of ids, a couple of dozen comparisons each.
Under the database's default collation each comparison is a locale-aware
`strcoll`; ids are opaque tokens, compared only for equality, so byte order
loses nothing. On 4M rows inserted in (account, ts) order it cut the insert
from 59 s to 49 s here. SQLite (the demo) compares bytes already and has no
collation named "C", so the operation does nothing there; the model keeps no
`db_collation` for the same reason. The ingest staging table declares the same
collation, or joining it to the event table would mix two collations.
"""

from __future__ import annotations

from django.db import migrations

COLUMN_TYPE = "varchar(128)"


def to_bytewise(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f'ALTER TABLE accounts_usageevent ALTER COLUMN event_id TYPE {COLUMN_TYPE} COLLATE "C"')


def to_default(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f'ALTER TABLE accounts_usageevent ALTER COLUMN event_id TYPE {COLUMN_TYPE} COLLATE pg_catalog."default"'
        )


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0005_event_batch_brin"),
    ]

    operations = [
        migrations.RunPython(to_bytewise, to_default, elidable=False),
    ]
