"""`manage.py ingest PATH ... --json`: one JSON object per batch; `--resume`."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from ingest.models import Batch
from tests.ingest.conftest import account, event

pytestmark = pytest.mark.django_db(transaction=True)


def run(*args: str) -> list[dict]:
    out = StringIO()
    call_command("ingest", *args, stdout=out)
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_json_output_per_batch(batch_file, shared_dir):
    sample = str(shared_dir / "samples/example-batch.ndjson")
    other = str(batch_file([account("z1"), event("z-e1", account_id="z1"), "nope"]))
    first, second = run(sample, other, "--wait", "--json")
    assert {k: first[k] for k in ("status", "accounts", "alerts", "events", "duplicates", "rejected")} == {
        "status": "done", "accounts": 4, "alerts": 2, "events": 5, "duplicates": 0, "rejected": 0,
    }  # fmt: skip
    assert (second["accounts"], second["events"], second["rejected"]) == (1, 1, 1)
    assert Batch.objects.get(pk=first["batch"]).source == Batch.Source.CLI
    (again,) = run(sample, "--json")
    assert again["duplicate_of"] == first["batch"] and (again["events"], again["duplicates"]) == (0, 7)


def test_a_failed_batch_is_reported_and_exits_non_zero(tmp_path):
    empty = tmp_path / "empty.ndjson"
    empty.write_bytes(b"")
    out = StringIO()
    with pytest.raises(CommandError, match="failed"):
        call_command("ingest", str(empty), "--json", stdout=out)
    assert json.loads(out.getvalue())["error"].startswith("empty file")


def test_missing_file_and_unknown_batch_are_errors():
    with pytest.raises(CommandError, match="no such file"):
        call_command("ingest", "/nonexistent.ndjson")
    with pytest.raises(CommandError, match="no batch"):
        call_command("ingest", "--resume", "424242")


def test_resume_of_a_finished_batch_changes_nothing(shared_dir):
    (first,) = run(str(shared_dir / "samples/example-batch.ndjson"), "--json", "--no-copy")
    (resumed,) = run("--resume", str(first["batch"]), "--json")
    assert resumed == first
