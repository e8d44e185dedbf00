"""Validated event rows as binary COPY rows for `accounts_usageevent`, held per account until loaded.

A chunk's events are encoded as they are validated, but sent only in the next
transaction (see `postgres.prepare`), once their accounts' keys are known. So
each row is encoded without its account, about 380 bytes for a typical event,
in a list per account name. Its field count already includes the two columns
`copy_data` adds when the chunk is loaded, the account's key and the batch id:
they are the separator of a `bytes.join` over the account's rows, so adding
them costs no Python step per row. An account's rows go into the table
together, in the order of the file: a run of neighbouring entries in the
(account_id, ts) index instead of one scattered insert per row.
"""

from __future__ import annotations

import struct
from collections import defaultdict
from collections.abc import Iterator, Mapping
from itertools import chain, islice
from socket import AF_INET, AF_INET6, inet_pton
from typing import Any

from psycopg import Cursor
from psycopg._copy_base import format_row_binary  # the C row encoder behind Copy.write_row (pinned: <3.4)
from psycopg.adapt import Dumper, Transformer
from psycopg.postgres import types
from psycopg.pq import Format

from ingest.validation import EVENT_COLUMNS

# Binary COPY needs each value in its column's exact type.
_TYPES = {
    "event_id": "text", "ts": "timestamptz", "api_key_id": "text", "ip": "inet", "asn": "int8",
    "user_agent": "text", "ja4": "text", "model": "text", "input_tokens": "int4", "output_tokens": "int4",
    "category": "text", "cot_requested": "bool", "system_prompt_sha256": "text", "tools_sha256": "text",
    "prompt_simhash": "int8", "prompt_excerpt": "text",
}  # fmt: skip
# A row as encoded (the event's columns but its account), then the two columns `copy_data` appends.
ROW_COLUMNS = ("event_id", *EVENT_COLUMNS[2:])
COPY_COLUMNS = (*ROW_COLUMNS, "account_id", "batch_id")
_ROW_OIDS = [types[_TYPES[column]].oid for column in ROW_COLUMNS]

SIGNATURE = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)
TRAILER = struct.pack(">h", -1)
_TAIL = struct.Struct(">iqiq")  # account key and batch id, each an int8 field (length 8, value)
_FIELD_COUNT = struct.Struct(">h")
_FLUSH_BYTES = 1 << 20
_ROWS_PER_JOIN = 2048  # so that one account's rows are never copied whole


class InetFromText(Dumper):
    """The binary form of PostgreSQL's inet from an address string the validator accepted.

    psycopg's own inet dumper takes `ipaddress` objects, which cost more to make than the rest of
    the row. Family codes and layout are those of PostgreSQL's inet_send.
    """

    oid = types["inet"].oid
    format = Format.BINARY

    def dump(self, obj: str) -> bytes:
        if ":" in obj:
            return b"\x03\x80\x00\x10" + inet_pton(AF_INET6, obj)
        return b"\x02\x20\x00\x04" + inet_pton(AF_INET, obj)


class EventRows:
    """The encoded events of one chunk, grouped by account name."""

    def __init__(self, cursor: Cursor[Any], batch_id: int) -> None:
        # By oid only, on this cursor's own copy of the adapters: what set_dumper_types looks up.
        cursor.adapters.register_dumper(None, InetFromText)
        self._tx = Transformer(cursor)
        self._tx.set_dumper_types(_ROW_OIDS, Format.BINARY)
        self.batch_id = batch_id
        self.by_account: defaultdict[str, list[bytearray]] = defaultdict(list)

    def add(self, row: tuple[Any, ...]) -> None:
        """One validated row in EVENT_COLUMNS order."""
        out = bytearray()
        format_row_binary(row[:1] + row[2:], self._tx, out)
        _FIELD_COUNT.pack_into(out, 0, len(COPY_COLUMNS))  # the two last fields come with `copy_data`
        self.by_account[row[1]].append(out)

    @property
    def count(self) -> int:
        return sum(map(len, self.by_account.values()))

    def sample_ids(self, size: int = 1000) -> list[str]:
        """Up to `size` of the chunk's event ids: a row starts with its field count, then its id's
        length and bytes."""
        rows = islice(chain.from_iterable(self.by_account.values()), size)
        return [row[6 : 6 + int.from_bytes(row[2:6], "big")].decode() for row in rows]

    def copy_data(self, keys: Mapping[str, int]) -> Iterator[bytes | bytearray]:
        """The whole binary COPY stream, in blocks: rows by account key; rows of accounts missing from
        `keys` are left out."""
        tail = _TAIL.pack
        out = bytearray(SIGNATURE)
        for key, name in sorted((keys[name], name) for name in self.by_account if name in keys):
            end = tail(8, key, 8, self.batch_id)
            rows = self.by_account[name]
            for start in range(0, len(rows), _ROWS_PER_JOIN):
                out += end.join(rows[start : start + _ROWS_PER_JOIN])
                out += end
                if len(out) >= _FLUSH_BYTES:
                    yield out
                    out = bytearray()
        out += TRAILER
        yield out
