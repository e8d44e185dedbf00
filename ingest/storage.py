"""Where batch and chunk bytes live, and how a chunk's lines are opened.

Uploaded files go to the default storage (MEDIA_ROOT); the command line may
ingest a file in place. Workers on other machines need the same paths
(shared storage), exactly like they need the same database.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from django.conf import settings

from ingest.models import Batch, BatchChunk
from ingest.reader import iter_lines


def batch_path(batch: Batch) -> Path:
    return Path(batch.source_path) if batch.source_path else Path(batch.file.path)


def chunk_dir(batch_id: int, token: str) -> Path:
    """Decompressed chunks of one split attempt: a superseded attempt never touches another's files."""
    return Path(settings.MEDIA_ROOT) / "chunks" / str(batch_id) / token


def chunk_name(path: Path) -> str:
    """The FileField name (relative to MEDIA_ROOT) of a chunk file."""
    return str(path.relative_to(Path(settings.MEDIA_ROOT)))


def remove_chunk_files(batch_id: int, token: str | None = None) -> None:
    root = Path(settings.MEDIA_ROOT) / "chunks" / str(batch_id)
    shutil.rmtree(root / token if token else root, ignore_errors=True)


class _RangeReader:
    """`read` over the byte range [offset, offset + length) of a file."""

    def __init__(self, file: BinaryIO, offset: int, length: int) -> None:
        file.seek(offset)
        self.file = file
        self.remaining = length

    def read(self, size: int = -1) -> bytes:
        if self.remaining <= 0:
            return b""
        size = self.remaining if size < 0 else min(size, self.remaining)
        data = self.file.read(size)
        self.remaining -= len(data)
        return data


@contextmanager
def open_chunk_lines(chunk: BatchChunk, batch: Batch) -> Iterator[Iterator[tuple[int, bytes | None]]]:
    """The chunk's numbered lines, streamed from its own file or from its byte range of the batch file."""
    if chunk.file:
        with open(Path(settings.MEDIA_ROOT) / str(chunk.file.name), "rb") as f:
            yield iter_lines(f, first_line=chunk.first_line)
    else:
        with open(batch_path(batch), "rb") as f:
            length = chunk.byte_length if chunk.byte_length is not None else 1 << 62
            yield iter_lines(_RangeReader(f, chunk.byte_offset, length), first_line=chunk.first_line)
