"""The batch format's prompt SimHash (spec: ingest-format.md, "prompt_simhash").

Upstream computes it; we compute it too, for the simulator and to check test vectors.
It is stored as a signed 64-bit integer because databases have no unsigned bigint.
"""

from __future__ import annotations

import hashlib
import re

_TOKEN = re.compile(r"[a-z0-9]+")
_MASK = (1 << 64) - 1


def simhash64(text: str) -> int | None:
    """The 64-bit SimHash of `text` as an unsigned int, or None when it has no token."""
    tokens = _TOKEN.findall(text.lower())
    if not tokens:
        return None
    if len(tokens) < 3:
        shingles = [" ".join(tokens)]
    else:
        shingles = [" ".join(tokens[i : i + 3]) for i in range(len(tokens) - 2)]
    sums = [0] * 64
    for shingle in shingles:
        h = int.from_bytes(hashlib.blake2b(shingle.encode("utf-8"), digest_size=8).digest(), "big")
        for bit in range(64):
            sums[bit] += 1 if (h >> bit) & 1 else -1
    return sum(1 << bit for bit in range(64) if sums[bit] > 0)


def simhash_hex(text: str) -> str | None:
    value = simhash64(text)
    return None if value is None else f"{value:016x}"


def hex_to_signed(hex16: str) -> int:
    """'ffff…' -> signed bigint as stored in the database."""
    value = int(hex16, 16)
    return value - (1 << 64) if value >= 1 << 63 else value


def signed_to_hex(value: int) -> str:
    return f"{value & _MASK:016x}"


def hamming(a: int, b: int) -> int:
    """Bit distance between two SimHashes, signed or unsigned."""
    return ((a ^ b) & _MASK).bit_count()
