"""Splitting a batch file into chunks that independent tasks can load.

The file is read once, in 1 MiB blocks, hashing the raw bytes on the way
(for "same file as batch N"). Newlines are counted with `bytes.count`, so the
split costs little more than reading the file. A plain file is not copied:
each chunk is a byte range of it. A gzip file is decompressed completely here,
into one plain file per chunk, so a truncated or corrupt gzip is found before
anything is loaded.
"""

from __future__ import annotations

import gzip
import hashlib
import queue
import threading
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from ingest.reader import BatchFileError, describe_binary, is_gzip

BLOCK_BYTES = 1 << 20


@dataclass
class ChunkSpec:
    """One chunk: its lines `first_line .. first_line + line_count - 1` and where its bytes are."""

    index: int
    first_line: int
    line_count: int
    byte_offset: int = 0
    byte_length: int = 0
    path: Path | None = None  # a decompressed chunk file; None: a byte range of the batch file


@dataclass
class SplitResult:
    sha256: str
    size_bytes: int
    lines_total: int
    compressed: bool
    chunks: list[ChunkSpec] = field(default_factory=list)


class _HashingReader:
    """Passes reads through while hashing and counting the raw bytes.

    The hash runs in a thread (hashlib releases the GIL on large buffers), so hashing overlaps with
    cutting the file into chunks: half the split time of a plain file. The queue is bounded, so at
    most a few blocks wait in memory.
    """

    def __init__(self, raw: BinaryIO) -> None:
        self.raw = raw
        self.size = 0
        self._hash = hashlib.sha256()
        self._blocks: queue.Queue[bytes | None] = queue.Queue(maxsize=4)
        self._thread = threading.Thread(target=self._run, name="split-sha256", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (data := self._blocks.get()) is not None:
            self._hash.update(data)

    def read(self, n: int = -1) -> bytes:
        data = self.raw.read(n)
        if data:
            self._blocks.put(data)
        self.size += len(data)
        return data

    def finish(self) -> str:
        """Stop the hashing thread; the hex digest of everything read."""
        if self._thread.is_alive():
            self._blocks.put(None)
            self._thread.join()
        return self._hash.hexdigest()

    def readable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.raw.tell()

    def seek(self, offset: int, whence: int = 0) -> int:
        return self.raw.seek(offset, whence)

    def close(self) -> None:
        # The caller owns the underlying file.
        pass

    @property
    def closed(self) -> bool:
        return False


class _ChunkWriter:
    """Accumulates bytes for the current chunk: written to a file (gzip) or only measured (plain)."""

    def __init__(self, out_dir: Path | None) -> None:
        self.out_dir = out_dir
        self.chunks: list[ChunkSpec] = []
        self.offset = 0  # decompressed offset of the current chunk's start
        self.length = 0
        self.lines = 0
        self.first_line = 1
        self.file: BinaryIO | None = None

    def write(self, data: bytes, newlines: int) -> None:
        if not data:
            return
        if self.out_dir is not None:
            if self.file is None:
                path = self.out_dir / f"chunk-{len(self.chunks):06d}.ndjson"
                self.file = path.open("wb")
            self.file.write(data)
        self.length += len(data)
        self.lines += newlines

    def close_chunk(self, *, partial_last_line: bool = False) -> None:
        if self.length == 0:
            return
        lines = self.lines + (1 if partial_last_line else 0)
        path = None
        if self.file is not None:
            path = Path(self.file.name)
            self.file.close()
            self.file = None
        self.chunks.append(
            ChunkSpec(
                index=len(self.chunks),
                first_line=self.first_line,
                line_count=lines,
                byte_offset=self.offset if self.out_dir is None else 0,
                byte_length=self.length,
                path=path,
            )
        )
        self.first_line += lines
        self.offset += self.length
        self.length = 0
        self.lines = 0

    def abort(self) -> None:
        if self.file is not None:
            self.file.close()
            self.file = None


def split_file(
    raw: BinaryIO,
    *,
    out_dir: Path,
    chunk_lines: int,
    heartbeat: Callable[[], None] | None = None,
) -> SplitResult:
    """Split an open batch file (binary, seekable, at position 0) into chunks of `chunk_lines` lines.

    Raises BatchFileError for an empty file, binary content or a broken gzip.
    Chunk files of a gzip batch go to `out_dir`; the caller removes them if it
    discards the result.
    """
    if chunk_lines < 1:
        raise ValueError("chunk_lines must be positive")
    hashing = _HashingReader(raw)
    compressed = is_gzip(raw)
    stream: BinaryIO = gzip.GzipFile(fileobj=hashing, mode="rb") if compressed else hashing  # type: ignore[assignment]
    writer = _ChunkWriter(out_dir if compressed else None)
    if compressed:
        out_dir.mkdir(parents=True, exist_ok=True)
    has_content = False
    last_byte = b"\n"
    blocks = 0
    try:
        while True:
            try:
                block = stream.read(BLOCK_BYTES)
            except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
                raise BatchFileError(f"broken gzip: {exc} (truncated or corrupt; nothing was loaded)") from exc
            if not block:
                break
            if blocks == 0 and (reason := describe_binary(block[:65536])):
                raise BatchFileError(reason)
            blocks += 1
            if not has_content and block.strip():
                has_content = True
            last_byte = block[-1:]
            _cut_block(block, writer, chunk_lines)
            if heartbeat is not None and blocks % 64 == 0:
                heartbeat()
        # Drain whatever is left to hash (a plain file is fully read already; gzip trailers are checked).
        while hashing.read(BLOCK_BYTES):
            pass
        writer.close_chunk(partial_last_line=last_byte != b"\n")
    except BaseException:
        writer.abort()
        raise
    finally:
        sha256 = hashing.finish()
    if not has_content:
        raise BatchFileError("empty file: no records (only blank lines or no bytes at all)")
    lines_total = writer.first_line - 1
    return SplitResult(
        sha256=sha256,
        size_bytes=hashing.size,
        lines_total=lines_total,
        compressed=compressed,
        chunks=writer.chunks,
    )


def _cut_block(block: bytes, writer: _ChunkWriter, chunk_lines: int) -> None:
    """Append `block` to the current chunk, closing chunks each time `chunk_lines` lines are complete."""
    pos = 0
    size = len(block)
    while pos < size:
        need = chunk_lines - writer.lines
        newlines = block.count(b"\n", pos)
        if newlines < need:
            writer.write(block[pos:] if pos else block, newlines)
            return
        idx = pos - 1
        for _ in range(need):
            idx = block.index(b"\n", idx + 1)
        writer.write(block[pos : idx + 1], need)
        writer.close_chunk()
        pos = idx + 1
