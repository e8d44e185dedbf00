"""Reading batch files: gzip by magic bytes, CRLF, blank lines, the 64 KiB limit, line numbers."""

from __future__ import annotations

import gzip
import io
import random

import pytest

from ingest import reader
from ingest.reader import MAX_LINE_BYTES, describe_binary, iter_lines, open_decompressed


def lines(data: bytes, **kwargs) -> list[tuple[int, bytes | None]]:
    return list(iter_lines(io.BytesIO(data), **kwargs))


def test_it_numbers_lines_and_skips_blank_ones():
    assert lines(b'{"a":1}\n\n   \n{"b":2}\n') == [(1, b'{"a":1}'), (4, b'{"b":2}')]


def test_it_drops_a_trailing_carriage_return():
    assert lines(b"{}\r\n{}\r\n\r\n") == [(1, b"{}"), (2, b"{}")]


def test_the_last_line_needs_no_newline():
    assert lines(b"{}\n{}") == [(1, b"{}"), (2, b"{}")]


def test_numbers_start_at_the_chunks_first_line():
    assert lines(b"{}\n{}\n", first_line=401) == [(401, b"{}"), (402, b"{}")]


def test_a_line_over_64_kib_is_reported_and_the_next_line_is_read():
    ok = b"x" * MAX_LINE_BYTES
    too_long = b"y" * (MAX_LINE_BYTES + 1)
    data = ok + b"\r\n" + too_long + b"\n" + b"z" * (5 * MAX_LINE_BYTES) + b"\n{}"
    result = lines(data)
    assert [n for n, _ in result] == [1, 2, 3, 4]
    assert result[0][1] == ok and result[1][1] is None and result[2][1] is None and result[3][1] == b"{}"


def test_gzip_is_detected_by_magic_bytes_not_name():
    raw = io.BytesIO(gzip.compress(b'{"a":1}\n'))
    assert open_decompressed(raw).read() == b'{"a":1}\n'
    plain = io.BytesIO(b'{"a":1}\n')
    assert open_decompressed(plain) is plain


def test_binary_content_is_described():
    assert "PNG image" in describe_binary(b"\x89PNG\r\n\x1a\n\x00\x00")
    assert "NUL bytes" in describe_binary(b"{}\x00\x00")
    assert "not UTF-8" in describe_binary(b"\xff\xfe\xfd" + b"{}" * 10)
    assert describe_binary('{"email": "jürgen@example.org"}\n'.encode()) is None


def _reference(data: bytes, max_bytes: int) -> list[tuple[int, bytes | None]]:
    """The reading rules, one line at a time, the whole input in memory."""
    out = []
    for number, raw in enumerate(data.split(b"\n"), start=1):
        line = raw[:-1] if raw.endswith(b"\r") else raw
        if len(line) > max_bytes:
            out.append((number, None))
        elif line and not line.isspace():
            out.append((number, line))
    return out


@pytest.mark.parametrize("block", [1, 2, 3, 5, 8, 64])
def test_lines_cut_by_block_boundaries_read_as_whole_lines(monkeypatch, block):
    # Every boundary position: lines shorter, equal and longer than the limit, "\r\n" split across
    # blocks, long lines spanning several blocks, blank lines, no final newline.
    monkeypatch.setattr(reader, "BLOCK_BYTES", block)
    rng = random.Random(block)
    pieces = [b"{}", b"", b"  ", b"abcdefgh", b"abcdefghi", b"abcdefghij" * 3, b"ab\r", b"abcdefgh\r", b"\r"]
    for trial in range(200):
        data = b"\n".join(rng.choice(pieces) for _ in range(rng.randint(1, 12)))
        if trial % 2:
            data += b"\n"
        assert lines(data, max_bytes=8, first_line=1) == _reference(data, 8), data
