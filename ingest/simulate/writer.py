"""Writing the batch (NDJSON, gzip when the name ends in .gz) and the ground-truth file.

Records are written as they are made, so memory does not grow with the batch.
The batch goes to a temporary name first and is renamed at the end: an
interrupted run never leaves a file that looks complete.
"""

from __future__ import annotations

import gzip
import os
from collections import Counter
from pathlib import Path
from typing import IO

import orjson


def default_truth_path(out: Path) -> Path:
    """FILE.ndjson[.gz] -> FILE.truth.json; any other name gets .truth.json appended."""
    name = out.name
    for suffix in (".ndjson.gz", ".ndjson", ".jsonl.gz", ".jsonl", ".gz"):
        if name.endswith(suffix):
            return out.with_name(name[: -len(suffix)] + ".truth.json")
    return out.with_name(name + ".truth.json")


class BatchWriter:
    """Context manager: `write(record)` appends one line; counts records per type."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.counts: Counter[str] = Counter()
        self._tmp = path.with_name(f".{path.name}.partial")
        self._fh: gzip.GzipFile | IO[bytes] | None = None
        self._raw: IO[bytes] | None = None  # the file under the gzip stream

    def __enter__(self) -> BatchWriter:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.path.name.endswith(".gz"):
            # mtime=0 keeps the gzip header, and so the file, identical for one seed.
            self._raw = open(self._tmp, "wb")  # noqa: SIM115 (closed in __exit__)
            self._fh = gzip.GzipFile(filename="", mode="wb", fileobj=self._raw, compresslevel=6, mtime=0)
        else:
            self._fh = open(self._tmp, "wb", buffering=1 << 20)  # noqa: SIM115
        return self

    def write(self, record: dict) -> None:
        assert self._fh is not None
        self._fh.write(orjson.dumps(record) + b"\n")
        self.counts[record["type"]] += 1

    def __exit__(self, exc_type, exc, tb) -> None:
        assert self._fh is not None
        self._fh.close()
        if self._raw is not None:
            self._raw.close()
        if exc_type is None:
            os.replace(self._tmp, self.path)
        else:
            self._tmp.unlink(missing_ok=True)


def write_truth(path: Path, *, seed: int, mix: str, operators: dict[str, dict], accounts: dict[str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    body = {"seed": seed, "mix": mix, "operators": operators, "accounts": accounts}
    path.write_bytes(orjson.dumps(body, option=orjson.OPT_INDENT_2))
