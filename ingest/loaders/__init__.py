"""Loaders store the validated records of one chunk, inside the caller's transaction.

`postgres` is the fast path (binary COPY, falling back to a staging table and
`ON CONFLICT DO NOTHING` when a chunk holds known ids); `generic` is a plain
ORM path for SQLite (the embedded demo). Both take the same lines and return
the same counts, so the pipeline does not care which one runs.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from types import ModuleType
from typing import Any, Protocol

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
    # Accounts whose snapshot changed: one account updated by several chunks counts once per batch.
    updated_accounts: list[int] = field(default_factory=list)

    def as_dict(self) -> dict[str, int]:
        """The counters (not the account list)."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "updated_accounts"}


class Loader(Protocol):
    """A chunk loads in two transactions: `prepare` (committed first), then `load` with the chunk's
    done mark. `prepare` must leave nothing that a re-run of the chunk would store twice."""

    def prepare(self, *, batch_id: int, lines: Iterable[tuple[int, bytes | None]]) -> Any: ...

    def load(self, prepared: Any, *, lines: Iterable[tuple[int, bytes | None]]) -> ChunkCounts: ...

    def discard(self, prepared: Any) -> None: ...


def get_loader() -> Loader | ModuleType:
    """The loader for the default database."""
    if connection.vendor == "postgresql":
        from ingest.loaders import postgres as loader
    else:
        from ingest.loaders import generic as loader
    return loader
