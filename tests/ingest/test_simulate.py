"""The simulator writes valid, deterministic batches whose ground truth matches their behaviour."""

from __future__ import annotations

import gzip
import json
from collections import Counter, defaultdict
from datetime import datetime
from pathlib import Path

import jsonschema
import pytest
from django.core.management import CommandError, call_command

from ingest.simulate import MIXES, build_config, default_truth_path, simulate

ACCOUNTS, DAYS, SEED = 300, 3, 7


def _read(path: Path) -> list[dict]:
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rb") as fh:
        return [json.loads(line) for line in fh]


@pytest.fixture(scope="module")
def batch(tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("sim") / "scenario.ndjson.gz"
    result = simulate(build_config(accounts=ACCOUNTS, days=DAYS, seed=SEED), out=out, truth=default_truth_path(out))
    truth = json.loads(result.truth.read_text())
    records = _read(out)
    by_op: dict[str, list[dict]] = defaultdict(list)
    for record in records:
        by_op[truth["accounts"][record["account_id"]]].append(record)
    return {"out": out, "result": result, "truth": truth, "records": records, "by_op": by_op}


def _events(batch: dict, op_id: str) -> list[dict]:
    return [r for r in batch["by_op"][op_id] if r["type"] == "event"]


def _account_records(batch: dict, op_id: str) -> list[dict]:
    return [r for r in batch["by_op"][op_id] if r["type"] == "account"]


def test_every_line_validates_against_the_schema(batch, shared_dir: Path) -> None:
    schema = json.loads((shared_dir / "spec" / "ingest-record.schema.json").read_text())
    validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
    errors = [(n, e.message) for n, record in enumerate(batch["records"], 1) for e in validator.iter_errors(record)]
    assert errors == []
    counts = Counter(r["type"] for r in batch["records"])
    assert counts == batch["result"].counts
    assert counts["event"] > 3000 and counts["alert"] > 20 and counts["account"] > 250


def test_events_and_alerts_fall_inside_the_period(batch) -> None:
    start = datetime.fromisoformat("2026-01-05T00:00:00+00:00").timestamp()
    end = start + DAYS * 86400
    times = [r.get("ts") or r.get("raised_at") for r in batch["records"] if r["type"] != "account"]
    assert all(start <= datetime.fromisoformat(t).timestamp() < end for t in times)


def test_record_ids_are_unique(batch) -> None:
    events = [r["event_id"] for r in batch["records"] if r["type"] == "event"]
    alerts = [r["alert_id"] for r in batch["records"] if r["type"] == "alert"]
    assert len(set(events)) == len(events)
    assert len(set(alerts)) == len(alerts)


def test_truth_maps_every_account_and_counts_operators(batch) -> None:
    truth = batch["truth"]
    assert set(truth) == {"seed", "mix", "operators", "accounts"}
    assert truth["seed"] == SEED and truth["mix"] == "default"
    in_file = {r["account_id"] for r in batch["records"]}
    assert in_file == set(truth["accounts"])
    assert len(truth["accounts"]) == ACCOUNTS
    per_op = Counter(truth["accounts"].values())
    assert {op: info["accounts"] for op, info in truth["operators"].items()} == per_op
    kinds = Counter(info["kind"] for info in truth["operators"].values())
    assert kinds["attacker"] == 3
    labels = Counter(
        info["label"].split(" (")[0] for info in truth["operators"].values() if info["kind"] == "legitimate"
    )
    assert labels["university lab"] == 1 and labels["enterprise pipeline"] == 1 and labels["small team"] >= 2
    assert kinds["ordinary"] == sum(1 for op in per_op if op.startswith("op-user-")) > 100


def test_same_seed_gives_the_same_bytes_and_another_seed_does_not(tmp_path: Path) -> None:
    def run(seed: int, name: str) -> bytes:
        out = tmp_path / name
        simulate(build_config(accounts=80, days=1, seed=seed), out=out, truth=tmp_path / f"{name}.truth.json")
        return out.read_bytes()

    first = run(3, "a.ndjson.gz")
    assert run(3, "b.ndjson.gz") == first
    assert run(4, "c.ndjson.gz") != first
    assert (tmp_path / "a.ndjson.gz.truth.json").read_bytes() == (tmp_path / "b.ndjson.gz.truth.json").read_bytes()


def test_gzip_output_is_gzip_and_holds_the_plain_output(tmp_path: Path) -> None:
    config = build_config(accounts=80, days=1, seed=5)
    simulate(config, out=tmp_path / "x.ndjson.gz", truth=tmp_path / "gz.truth.json")
    simulate(config, out=tmp_path / "x.ndjson", truth=tmp_path / "plain.truth.json")
    packed = (tmp_path / "x.ndjson.gz").read_bytes()
    assert packed[:2] == b"\x1f\x8b"
    assert gzip.decompress(packed) == (tmp_path / "x.ndjson").read_bytes()
    assert not list(tmp_path.glob(".*partial"))


def test_attacker_accounts_share_payments_and_harness(batch) -> None:
    harvester = _account_records(batch, "op-harvester-1")
    payments = Counter(r["payment_fingerprint"] for r in harvester)
    assert payments.most_common(1)[0][1] >= 5
    events = _events(batch, "op-harvester-1")
    by_prompt: dict[str, set[str]] = defaultdict(set)
    for event in events:
        if "system_prompt_sha256" in event:
            by_prompt[event["system_prompt_sha256"]].add(event["account_id"])
    accounts = {e["account_id"] for e in events}
    assert max(len(a) for a in by_prompt.values()) >= len(accounts) / 4
    # ...but not every account carries every signal.
    without = accounts - set().union(*by_prompt.values())
    assert without
    assert sum(e["output_tokens"] for e in events) / len(events) > 5000


def test_harvester_rotates_through_a_proxy_pool_across_asns(batch) -> None:
    events = _events(batch, "op-harvester-1")
    ips_per_account: dict[str, set[str]] = defaultdict(set)
    for event in events:
        ips_per_account[event["account_id"]].add(event["ip"])
    assert sum(len(s) for s in ips_per_account.values()) / len(ips_per_account) > 3
    assert len({e["asn"] for e in events}) > 10


def test_near_duplicate_prompts_come_from_different_accounts_within_minutes(batch) -> None:
    seen: dict[str, list[tuple[float, str]]] = defaultdict(list)
    for event in _events(batch, "op-harvester-1"):
        seen[event["prompt_simhash"]].append((datetime.fromisoformat(event["ts"]).timestamp(), event["account_id"]))
    pairs = 0
    for sends in seen.values():
        sends.sort()
        pairs += sum(1 for a, b in zip(sends, sends[1:], strict=False) if a[1] != b[1] and b[0] - a[0] < 600)
    assert pairs > 50


def test_cot_operator_elicits_reasoning_and_ordinary_users_rarely_do(batch) -> None:
    cot = _events(batch, "op-cot-1")
    assert sum(e["cot_requested"] for e in cot) / len(cot) > 0.6
    ordinary = [r for op, rs in batch["by_op"].items() if op.startswith("op-user-") for r in rs if r["type"] == "event"]
    assert sum(e["cot_requested"] for e in ordinary) / len(ordinary) < 0.1


def test_university_lab_is_one_nat_one_org_and_human_hours(batch) -> None:
    records = _account_records(batch, "op-university-1")
    assert {r["org_id"] for r in records} == {records[0]["org_id"]}
    assert {r["verification"] for r in records} == {"institution"}
    events = _events(batch, "op-university-1")
    assert len({e["ip"] for e in events}) == 1
    assert {r["signup_ip"] for r in records} == {events[0]["ip"]}
    assert len({e["category"] for e in events}) >= 4


def test_enterprise_pipeline_is_one_org_one_payment_one_cloud_without_cot(batch) -> None:
    records = _account_records(batch, "op-enterprise-1")
    assert len({r["payment_fingerprint"] for r in records}) == 1
    events = _events(batch, "op-enterprise-1")
    assert {e["asn"] for e in events} == {16509}
    assert not any(e["cot_requested"] for e in events)
    hours = {datetime.fromisoformat(e["ts"]).hour for e in events}
    assert len(hours) == 24  # automated: round the clock


def test_small_teams_share_an_org_card_and_office_at_a_small_scale(batch) -> None:
    teams = [op for op in batch["by_op"] if op.startswith("op-team-")]
    assert teams
    for op_id in teams:
        assert 2 <= batch["truth"]["operators"][op_id]["accounts"] <= 6
        records = _account_records(batch, op_id)
        assert len({r["signup_ip"] for r in records}) == 1
        assert len({r["email"].rpartition("@")[2] for r in records}) == 1


def test_detectors_flag_only_part_of_each_attacker_and_some_legitimate_accounts(batch) -> None:
    flagged = {r["account_id"] for r in batch["records"] if r["type"] == "alert"}
    truth = batch["truth"]
    for op_id, info in truth["operators"].items():
        if info["kind"] == "attacker":
            mine = {a for a, op in truth["accounts"].items() if op == op_id}
            assert 0 < len(mine & flagged) < len(mine), op_id
    innocent = {a for a, op in truth["accounts"].items() if truth["operators"][op]["kind"] != "attacker"}
    assert innocent & flagged
    detectors = {r["detector"] for r in batch["records"] if r["type"] == "alert"}
    assert {"cot-elicitation-v3", "volume-anomaly", "proxy-rotation"} <= detectors


def test_some_accounts_are_stubs_and_some_records_are_updated_snapshots(batch) -> None:
    with_record = Counter(r["account_id"] for r in batch["records"] if r["type"] == "account")
    in_events = {r["account_id"] for r in batch["records"] if r["type"] == "event"}
    assert in_events - set(with_record)
    assert any(n == 2 for n in with_record.values())


@pytest.mark.parametrize("mix", sorted(MIXES))
def test_every_mix_runs_and_keeps_its_cast(tmp_path: Path, mix: str) -> None:
    out = tmp_path / "m.ndjson"
    result = simulate(build_config(accounts=200, days=1, seed=1, mix=mix), out=out, truth=default_truth_path(out))
    truth = json.loads(result.truth.read_text())
    assert truth["mix"] == mix and len(truth["accounts"]) == 200
    attackers = [op for op, info in truth["operators"].items() if info["kind"] == "attacker"]
    assert len(attackers) == len(MIXES[mix].attackers)


def test_command_writes_and_reports_counts(tmp_path: Path, capsys) -> None:
    out = tmp_path / "cmd.ndjson"
    call_command(
        "simulate", "--accounts", "80", "--days", "1", "--seed", "2", "--out", str(out), "--mix", "stealthy",
        "--start", "2025-03-01",
    )  # fmt: skip
    printed = capsys.readouterr().out
    assert "events" in printed and "80 accounts" in printed
    assert json.loads((tmp_path / "cmd.truth.json").read_text())["mix"] == "stealthy"
    days = {r["ts"][:10] for r in _read(out) if r["type"] == "event"}
    assert days == {"2025-03-01"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--accounts", "10"], "at least"),
        (["--start", "05/01/2026"], "YYYY-MM-DD"),
        (["--days", "0"], "--days"),
    ],
)
def test_command_rejects_bad_options_clearly(tmp_path: Path, args: list[str], message: str) -> None:
    out = tmp_path / "bad.ndjson"
    with pytest.raises(CommandError, match=message):
        call_command("simulate", "--out", str(out), *args)
    assert not out.exists()
