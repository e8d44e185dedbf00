"""Helpers for ingest tests: write batch files, build valid records."""

from __future__ import annotations

import gzip
import itertools
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import orjson
import pytest

_counter = itertools.count(1)


def account(account_id: str = "acct_1", **fields: Any) -> dict[str, Any]:
    return {"type": "account", "account_id": account_id, "created_at": "2026-01-01T00:00:00Z", **fields}


def event(event_id: str | None = None, account_id: str = "acct_1", **fields: Any) -> dict[str, Any]:
    event_id = f"evt_{next(_counter)}" if event_id is None else event_id
    return {"type": "event", "event_id": event_id, "account_id": account_id, "ts": "2026-02-01T10:00:00Z", **fields}


def alert(alert_id: str | None = None, account_id: str = "acct_1", **fields: Any) -> dict[str, Any]:
    alert_id = f"alrt_{next(_counter)}" if alert_id is None else alert_id
    return {
        "type": "alert", "alert_id": alert_id, "account_id": account_id, "detector": "volume-anomaly",
        "score": 0.5, "raised_at": "2026-02-01T10:00:00Z", **fields,
    }  # fmt: skip


def encode(records: Iterable[dict[str, Any] | str | bytes]) -> bytes:
    out = []
    for record in records:
        if isinstance(record, bytes):
            out.append(record)
        elif isinstance(record, str):
            out.append(record.encode())
        else:
            out.append(orjson.dumps(record))
    return b"\n".join(out) + b"\n"


@pytest.fixture
def batch_file(tmp_path: Path) -> Callable[..., Path]:
    """`batch_file(records, name=..., gz=False)` writes a batch file and returns its path."""

    def write(records: Iterable[dict[str, Any] | str | bytes], *, name: str = "batch.ndjson", gz: bool = False) -> Path:
        data = encode(records)
        path = tmp_path / name
        path.write_bytes(gzip.compress(data) if gz else data)
        return path

    return write
