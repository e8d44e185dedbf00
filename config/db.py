"""Database helpers shared by every app."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TypeVar

T = TypeVar("T")

# Values bound per statement in `pk__in=...` lookups. SQLite (the embedded demo) accepts at
# most 32,766 parameters in one statement, so long id lists are sent in chunks of this size.
IN_CHUNK = 10_000


def chunked(items: Sequence[T], size: int | None = None) -> Iterator[Sequence[T]]:
    """Consecutive slices of `items`, each at most `size` long (default IN_CHUNK, read at call time)."""
    size = size or IN_CHUNK
    for start in range(0, len(items), size):
        yield items[start : start + size]
