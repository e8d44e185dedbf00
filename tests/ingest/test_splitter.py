"""Splitting: chunk boundaries and line numbers, gzip fully decompressed, batch-level errors."""

from __future__ import annotations

import gzip
import io

import pytest

from ingest.reader import BatchFileError, iter_lines
from ingest.splitter import split_file
from ingest.storage import _RangeReader


def split(data: bytes, tmp_path, chunk_lines: int = 3):
    return split_file(io.BytesIO(data), out_dir=tmp_path / "chunks", chunk_lines=chunk_lines)


def chunk_lines(result, data: bytes):
    out = []
    for spec in result.chunks:
        if spec.path:
            stream = spec.path.open("rb")
        else:
            stream = _RangeReader(io.BytesIO(data), spec.byte_offset, spec.byte_length)
        out.append(list(iter_lines(stream, first_line=spec.first_line)))
    return out


def test_plain_files_are_cut_into_byte_ranges_without_copies(tmp_path):
    data = b"".join(b'{"n":%d}\n' % i for i in range(1, 8)) + b"\n" + b'{"n":9}'
    result = split(data, tmp_path)
    assert not result.compressed and result.lines_total == 9
    assert [(c.first_line, c.line_count, c.path) for c in result.chunks] == [(1, 3, None), (4, 3, None), (7, 3, None)]
    parsed = chunk_lines(result, data)
    assert parsed[2] == [(7, b'{"n":7}'), (9, b'{"n":9}')]
    assert len(result.sha256) == 64 and result.size_bytes == len(data)


def test_gzip_is_decompressed_into_chunk_files(tmp_path):
    data = b"".join(b'{"n":%d}\n' % i for i in range(1, 6))
    result = split(gzip.compress(data), tmp_path, chunk_lines=2)
    assert result.compressed and [c.line_count for c in result.chunks] == [2, 2, 1]
    assert all(c.path and c.path.exists() for c in result.chunks)
    assert [line for chunk in chunk_lines(result, data) for line in chunk] == [
        (i, b'{"n":%d}' % i) for i in range(1, 6)
    ]


def test_the_hash_is_of_the_bytes_as_uploaded(tmp_path):
    import hashlib

    compressed = gzip.compress(b"{}\n")
    assert split(compressed, tmp_path).sha256 == hashlib.sha256(compressed).hexdigest()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty file"),
        (b"\n\n  \r\n", "empty file"),
        (gzip.compress(b""), "empty file"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not NDJSON: the file is a PNG image"),
        (gzip.compress(b"{}\n" * 1000)[:-12], "broken gzip"),
        (gzip.compress(b"".join(b'{"n":%d}\n' % i for i in range(5000)))[:200], "broken gzip"),
        (gzip.compress(b"{}\n")[:10] + b"garbage" * 10, "broken gzip"),
    ],
)
def test_batch_level_errors(tmp_path, data, message):
    with pytest.raises(BatchFileError, match=message):
        split(data, tmp_path)
