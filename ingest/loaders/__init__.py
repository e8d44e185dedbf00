"""Loaders store the validated records of one chunk, inside the caller's transaction.

`postgres` is the fast path (binary COPY into staging tables, then set-based
inserts that skip known ids); `generic` is a plain ORM path for SQLite (the
embedded demo). Both take the same lines and return the same counts, so the
pipeline does not care which one runs.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields
from typing import Protocol

from django.db import connection


@dataclass
class ChunkCounts:
    """What one chunk did; stored on its BatchChunk row in the same transaction as its rows."""

    records: int = 0
    accounts_new: int = 0
    accounts_updated: int = 0
    alerts_new: int = 0
    events_new: int = 0
    duplicates: int = 0
    rejected: int = 0

    def as_dict(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


class Loader(Protocol):
    def __call__(self, *, batch_id: int, lines: Iterable[tuple[int, bytes | None]]) -> ChunkCounts: ...


def get_loader() -> Loader:
    """The loader for the default database."""
    if connection.vendor == "postgresql":
        from ingest.loaders.postgres import load_chunk
    else:
        from ingest.loaders.generic import load_chunk
    return load_chunk
