"""Validated event rows as binary COPY rows for `accounts_usageevent`, held per account until loaded.

A chunk's events are encoded as they are validated, but sent only in the next
transaction (see `postgres.prepare`), once their accounts' keys are known. So
each row is encoded without its account, about 380 bytes in a list per account
name, and `copy_data` appends the account's key (and the batch id) to each row
when the chunk is loaded: the row's field count says 18 from the start, and the
two last fields are the separator of a `join`, so adding them costs no Python
step per row. An account's rows go into the table together: one visit per
leaf page of the (account_id, ts) index instead of one per row.
"""

from __future__ import annotations

import struct
from collections import defaultdict
from collections.abc import Iterator, Mapping
from itertools import chain, islice
from socket import AF_INET, AF_INET6, inet_pton
from typing import Any

from psycopg import Cursor
from psycopg._copy_base import format_row_binary  # psycopg's own row encoder (C), the one Copy.write_row uses
from psycopg.adapt import Dumper, Transformer
from psycopg.pq import Format

from ingest.validation import EVENT_COLUMNS

# A row as encoded (the event's columns but its account), then the two columns `copy_data` appends.
ROW_COLUMNS = ("event_id", *EVENT_COLUMNS[2:])
COPY_COLUMNS = (*ROW_COLUMNS, "account_id", "batch_id")
_ROW_TYPES = (
    "text", "timestamptz", "text", "inet", "int8", "text", "text", "text", "int4", "int4", "text", "bool",
    "text", "text", "int8", "text",
)  # fmt: skip

SIGNATURE = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)
TRAILER = struct.pack(">h", -1)
_TAIL = struct.Struct(">iqiq")  # account key and batch id, each an int8 field (length 8, value)
_FLUSH_BYTES = 1 << 20


class InetFromText(Dumper):
    """The binary form of PostgreSQL's inet from an address string the validator accepted.

    psycopg's own inet dumper takes `ipaddress` objects, which cost more to make than the rest of
    the row. Family codes and layout are those of PostgreSQL's inet_send.
    """

    format = Format.BINARY

    def dump(self, obj: str) -> bytes:
        if ":" in obj:
            return b"\x03\x80\x00\x10" + inet_pton(AF_INET6, obj)
        return b"\x02\x20\x00\x04" + inet_pton(AF_INET, obj)


class EventRows:
    """The encoded events of one chunk, grouped by account name."""

    def __init__(self, cursor: Cursor[Any], batch_id: int) -> None:
        adapters = cursor.adapters
        dumper = type("InetFromTextDumper", (InetFromText,), {"oid": adapters.types["inet"].oid})
        adapters.register_dumper(None, dumper)  # by oid only: what set_dumper_types below looks up
        self._tx = Transformer(cursor)
        self._tx.set_dumper_types([adapters.types[name].oid for name in _ROW_TYPES], Format.BINARY)
        self.batch_id = batch_id
        self.by_account: defaultdict[str, list[bytearray]] = defaultdict(list)

    def add(self, row: tuple[Any, ...]) -> None:
        """One validated row in EVENT_COLUMNS order."""
        out = bytearray()
        format_row_binary(row[:1] + row[2:], self._tx, out)
        out[1] = len(COPY_COLUMNS)  # the field count (big-endian int16): the tail is added when loading
        self.by_account[row[1]].append(out)

    @property
    def count(self) -> int:
        return sum(map(len, self.by_account.values()))

    def sample_ids(self, size: int = 1000) -> list[str]:
        """Up to `size` of the chunk's event ids: each row starts with its id's length and bytes."""
        rows = islice(chain.from_iterable(self.by_account.values()), size)
        return [row[6 : 6 + int.from_bytes(row[2:6])].decode() for row in rows]

    def copy_data(self, keys: Mapping[str, int]) -> Iterator[bytes | bytearray]:
        """The whole binary COPY stream, in blocks: rows by account key; rows of accounts missing from
        `keys` (deleted since `prepare`) are left out."""
        tail = _TAIL.pack
        out = bytearray(SIGNATURE)
        for key, name in sorted((keys[name], name) for name in self.by_account if name in keys):
            end = tail(8, key, 8, self.batch_id)
            out += end.join(self.by_account[name])
            out += end
            if len(out) >= _FLUSH_BYTES:
                yield out
                out = bytearray()
        out += TRAILER
        yield out
