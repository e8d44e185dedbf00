"""Every rule of spec/ingest-format.md gives a rejection with a one-line reason naming it."""

from __future__ import annotations

import datetime as dt

import orjson
import pytest

from accounts.simhash import hex_to_signed
from ingest.validation import AccountSnapshot, Rejected, _fast_event, _parse_line_rules, parse_line
from tests.ingest.conftest import account, alert, event


def reason(record: object) -> str:
    raw = record if isinstance(record, bytes) else orjson.dumps(record)
    with pytest.raises(Rejected) as info:
        parse_line(raw, 1)
    assert "\n" not in info.value.reason
    return info.value.reason


def test_it_accepts_the_shared_sample(shared_dir):
    sample = (shared_dir / "samples/example-batch.ndjson").open("rb")
    kinds = [parse_line(line.rstrip(b"\n"), n)[0] for n, line in enumerate(sample, 1)]
    assert kinds.count("event") == 5 and kinds.count("alert") == 2 and kinds.count("account") == 3


def test_it_accepts_every_optional_field():
    kind, row = parse_line(orjson.dumps(event(
        "e1", api_key_id="k1", ip="2001:db8::1", asn=4294967295, user_agent="ua", ja4="t13d", model="m",
        input_tokens=0, output_tokens=3.0, category="vision", cot_requested=True, system_prompt_sha256="a" * 64,
        tools_sha256="b" * 64, prompt_simhash="ffffffffffffffff", prompt_excerpt="hi",
    )), 1)  # fmt: skip
    assert kind == "event"
    assert row[4] == "2001:db8::1" and row[10] == 3 and row[15] == hex_to_signed("ffffffffffffffff") == -1


def test_account_keeps_only_given_fields_and_maps_status():
    kind, snap = parse_line(orjson.dumps(account("a1", status="banned", tier="free", extra="ignored")), 7)
    assert kind == "account" and isinstance(snap, AccountSnapshot)
    assert snap.line == 7 and set(snap.fields) == {"created_at", "provider_status", "tier"}


def test_timestamps_with_offsets_lowercase_and_long_fractions():
    for ts in ("2026-01-04T12:00:01.123Z", "2026-01-04t12:00:01z", "2026-01-04 12:00:01.123456789+08:00"):
        assert parse_line(orjson.dumps(event(ts=ts)), 1)[1][2].tzinfo is not None
    assert parse_line(orjson.dumps(event(ts="2026-01-04T20:00:00+08:00")), 1)[1][2] == dt.datetime(
        2026, 1, 4, 12, tzinfo=dt.UTC
    )


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        (b"{not json", "not valid JSON"),
        (b'{"type": "event", "event_id": NaN}', "not valid JSON"),
        (b'{"type": "event", "model": "\\ud800"}', "lone surrogate"),
        (b'{"type": "event", "event_id": "e1", "account_id": "a", "ts": "2026-01-01T00:00:00Z", "asn": 1e10}', '"asn"'),
        (b"[" * 5000 + b"]" * 5000, "not valid JSON"),
        (b"\xff\xfe{}", "not valid UTF-8"),
        (b"[1, 2]", "not a JSON object (got array)"),
        (b'"text"', "not a JSON object (got string)"),
        ({"account_id": "a"}, 'record has no "type" field'),
        ({"type": "user"}, 'unknown record type, got "user"'),
        ({"type": 3}, "unknown record type, got 3"),
        # required fields, per type
        ({"type": "account", "account_id": "a"}, 'account record is missing required field "created_at"'),
        ({"type": "account", "created_at": "2026-01-01T00:00:00Z"}, 'missing required field "account_id"'),
        (event(ts=None) | {"ts": None}, '"ts" must be an RFC 3339 timestamp string, got null'),
        ({k: v for k, v in event().items() if k != "ts"}, 'event record is missing required field "ts"'),
        ({k: v for k, v in event().items() if k != "event_id"}, 'missing required field "event_id"'),
        ({k: v for k, v in event().items() if k != "account_id"}, 'missing required field "account_id"'),
        ({k: v for k, v in alert().items() if k != "detector"}, 'alert record is missing required field "detector"'),
        ({k: v for k, v in alert().items() if k != "score"}, 'missing required field "score"'),
        ({k: v for k, v in alert().items() if k != "raised_at"}, 'missing required field "raised_at"'),
        ({k: v for k, v in alert().items() if k != "alert_id"}, 'missing required field "alert_id"'),
        # identifiers
        (event("bad id!"), '"event_id" must be 1-128 characters of A-Z a-z 0-9 _ . : -'),
        (event("x" * 129), '"event_id" must be 1-128 characters'),
        (event(""), '"event_id" must be 1-128 characters'),
        (event(account_id=12), '"account_id" must be a string, got a number'),
        (event(api_key_id="k/1"), '"api_key_id" must be 1-128 characters'),
        (account(org_id="org 1"), '"org_id" must be 1-128 characters'),
        (alert(alert_id="é"), '"alert_id" must be 1-128 characters'),
        # timestamps
        (event(ts="2026-01-04T12:00:01"), '"ts" must be an RFC 3339 timestamp with a zone'),
        (event(ts="2026-01-04"), '"ts" must be an RFC 3339 timestamp with a zone'),
        (event(ts="2026-13-04T12:00:01Z"), '"ts" is not a real date and time'),
        (event(ts="2026-02-30T12:00:01Z"), '"ts" is not a real date and time'),
        (event(ts="２０２６-01-04T12:00:01Z"), '"ts" must be an RFC 3339 timestamp'),
        (account(created_at=1700000000), '"created_at" must be an RFC 3339 timestamp string, got a number'),
        (alert(raised_at="yesterday"), '"raised_at" must be an RFC 3339 timestamp'),
        # account fields
        (account(email="x" * 255), '"email" must be at most 254 characters, got 255'),
        (account(email=None), '"email" must be a string, got null'),
        (account(tier="gold"), '"tier" must be one of free, build, scale, enterprise, education, research'),
        (account(verification="passport"), '"verification" must be one of none, email, phone'),
        (account(country="de"), '"country" must be an ISO 3166-1 alpha-2 code'),
        (account(country="DEU"), '"country" must be an ISO 3166-1 alpha-2 code'),
        (account(payment_fingerprint=""), '"payment_fingerprint" must not be empty'),
        (account(payment_fingerprint="p" * 129), '"payment_fingerprint" must be at most 128 characters'),
        (account(signup_ip="256.1.1.1"), '"signup_ip" must be an IPv4 or IPv6 address'),
        (account(signup_ip="01.2.3.4"), '"signup_ip" must be an IPv4 or IPv6 address'),
        (account(signup_ip="fe80::1%eth0"), '"signup_ip" must be an IPv4 or IPv6 address'),
        (account(signup_user_agent="u" * 513), '"signup_user_agent" must be at most 512 characters'),
        (account(status="deleted"), '"status" must be one of active, suspended, banned'),
        # alert fields
        (alert(detector=""), '"detector" must not be empty'),
        (alert(detector="d" * 129), '"detector" must be at most 128 characters'),
        (alert(score=1.5), '"score" must be between 0 and 1'),
        (alert(score=-0.1), '"score" must be between 0 and 1'),
        (alert(score="0.5"), '"score" must be a number, got a string'),
        (alert(score=True), '"score" must be a number, got a boolean'),
        (alert(severity="urgent"), '"severity" must be one of low, medium, high, critical'),
        (alert(summary="s" * 2001), '"summary" must be at most 2000 characters'),
        # event fields
        (event(ip="10.0.0"), '"ip" must be an IPv4 or IPv6 address'),
        (event(ip=167772161), '"ip" must be an IP address string, got a number'),
        (event(asn=-1), '"asn" must be between 0 and 4294967295'),
        (event(asn=4294967296), '"asn" must be between 0 and 4294967295'),
        (event(asn="64500"), '"asn" must be an integer, got a string'),
        (event(input_tokens=1.5), '"input_tokens" must be an integer, got a number'),
        (event(input_tokens=-1), '"input_tokens" must be between 0 and'),
        (event(output_tokens=True), '"output_tokens" must be an integer, got a boolean'),
        (event(output_tokens=2**31), '"output_tokens" must be between 0 and 2147483647'),
        (event(user_agent="u" * 513), '"user_agent" must be at most 512 characters'),
        (event(ja4="j" * 65), '"ja4" must be at most 64 characters'),
        (event(model="m" * 65), '"model" must be at most 64 characters'),
        (event(category="poetry"), '"category" must be one of chat, coding, agentic, reasoning, vision, other'),
        (event(cot_requested="yes"), '"cot_requested" must be true or false, got a string'),
        (event(system_prompt_sha256="A" * 64), '"system_prompt_sha256" must be 64 lower-case hex digits'),
        (event(tools_sha256="a" * 63), '"tools_sha256" must be 64 lower-case hex digits'),
        (event(prompt_simhash="4b78c3fee5e385b"), '"prompt_simhash" must be 16 lower-case hex digits'),
        (event(prompt_simhash="4B78C3FEE5E385B2"), '"prompt_simhash" must be 16 lower-case hex digits'),
        (event(prompt_excerpt="p" * 501), '"prompt_excerpt" must be at most 500 characters'),
        (event(model="a\x00b"), '"model" must not contain NUL characters'),
    ],
)
def test_it_rejects_with_a_reason(record, expected):
    assert expected in reason(record)


def test_too_long_lines_are_rejected_not_truncated():
    with pytest.raises(Rejected, match="longer than 64 KiB"):
        parse_line(None, 3)


def test_reasons_never_quote_personal_fields():
    assert "secret@example.org" not in reason(account(email="secret@example.org" + "x" * 250))
    assert "my prompt" not in reason(event(prompt_excerpt="my prompt " * 60))


def test_it_matches_the_json_schema(shared_dir):
    """The hand-written validator agrees with the spec's JSON schema on a mixed set of records."""
    import json

    from jsonschema import Draft202012Validator, FormatChecker

    schema = json.loads((shared_dir / "spec/ingest-record.schema.json").read_text())
    validator = Draft202012Validator(schema, format_checker=FormatChecker())
    records = [
        account(), account(tier="gold"), account(country="de"), account(signup_ip="::1"), event(asn=7),
        event(asn=-7), event(ts="2026-01-01T00:00:00"), alert(score=1), alert(score=2), event(ip="1.2.3"),
        event(prompt_simhash="0" * 16), alert(severity="low"), {"type": "nope"}, event(cot_requested=0),
    ]  # fmt: skip
    for record in records:
        schema_ok = validator.is_valid(record)
        try:
            parse_line(orjson.dumps(record), 1)
            ours = True
        except Rejected:
            ours = False
        assert ours == schema_ok, record


FULL_EVENT = event(
    "e1", api_key_id="k1", ip="203.0.113.9", asn=64500, user_agent="python-httpx/0.27", ja4="t13d", model="m",
    input_tokens=12, output_tokens=0, category="coding", cot_requested=False, system_prompt_sha256="a" * 64,
    tools_sha256="0123456789abcdef" * 4, prompt_simhash="8000000000000000", prompt_excerpt="Héllo 😀 wörld",
)  # fmt: skip


@pytest.mark.parametrize(
    "record",
    [
        event("e1"),
        FULL_EVENT,
        {**FULL_EVENT, "ip": "2001:db8::1", "ts": "2026-01-04t12:00:01.123456789-03:30", "extra": {"a": [1]}},
        {**FULL_EVENT, "user_agent": "u" * 512, "prompt_excerpt": "😀" * 500, "ja4": "j" * 64, "model": "m" * 64},
        {**FULL_EVENT, "event_id": "A" * 128, "account_id": "a.b:c-d_e", "asn": 4294967295, "input_tokens": 2**31 - 1},
    ],
)
def test_the_fast_path_gives_exactly_the_row_of_the_rules(record):
    raw = orjson.dumps(record)
    assert _fast_event(raw) is not None
    assert _fast_event(raw) == _parse_line_rules(raw, 1)[1] == parse_line(raw, 1)[1]


@pytest.mark.parametrize(
    "raw",
    [
        orjson.dumps({**FULL_EVENT, "user_agent": "a\x00b"}),
        orjson.dumps({**FULL_EVENT, "prompt_excerpt": "\x00"}),
        orjson.dumps({**FULL_EVENT, "api_key_id": ""}),
        orjson.dumps({**FULL_EVENT, "api_key_id": "k\x00"}),
        orjson.dumps({**FULL_EVENT, "event_id": "e1\nx"}),
        orjson.dumps({**FULL_EVENT, "account_id": "a\n"}),
        orjson.dumps({**FULL_EVENT, "prompt_simhash": ""}),
        orjson.dumps({**FULL_EVENT, "ip": None}),
        orjson.dumps({**FULL_EVENT, "ip": "fe80::1%eth0"}),
        orjson.dumps({**FULL_EVENT, "ts": "2026-02-30T00:00:00Z"}),
        orjson.dumps({**FULL_EVENT, "ts": "2026-02-01T00:00:00"}),
        orjson.dumps({**FULL_EVENT, "category": "Chat"}),
        orjson.dumps({**FULL_EVENT, "user_agent": "u" * 513}),
        b'{"type": "event", "event_id": "e1", "account_id": "a", "ts": "2026-01-01T00:00:00Z", "model": "\\ud800"}',
    ],
)
def test_the_fast_path_leaves_every_doubtful_line_to_the_rules(raw):
    assert _fast_event(raw) is None
    with pytest.raises(Rejected):
        parse_line(raw, 1)


def test_what_only_the_rules_accept_is_still_accepted():
    raw = orjson.dumps({**FULL_EVENT, "input_tokens": 3.0})  # JSON Schema: 3.0 is an integer
    assert _fast_event(raw) is None
    assert parse_line(raw, 1)[1][9] == 3


# Values near every edge of the fields the fast path checks itself; the rules are the reference.
_EDGY_TEXT = ["", "a", "A-z_0.9:", "x" * 128, "x" * 129, "ab c", "a\n", "\x00", "é", "٣", "a/b", "a+b", "%", "😀"]
_EDGY = {
    "event_id": _EDGY_TEXT,
    "account_id": _EDGY_TEXT,
    "api_key_id": _EDGY_TEXT,
    "ts": [
        "2026-02-01T10:00:00Z", "2026-02-01t10:00:00z", "2026-02-01 10:00:00+05:30", "2026-02-01T10:00:00.1Z",
        "2026-02-01T10:00:00.123456789-03:30", "2026-02-30T10:00:00Z", "2026-02-01T24:00:00Z",
        "2026-02-01T10:00:60Z", "2026-02-01T10:00:00", "2026-02-01T10:00Z", "2026-02-01T10:00:00.Z",
        "2026-2-01T10:00:00Z", "２０２６-02-01T10:00:00Z", "2026-02-01T10:00:00+0530", "2026-02-01T10:00:00Z\n",
        "2026-02-01_10:00:00Z", "+2026-02-01T10:00:00Z", "2026-02-01T10:00:00+24:00",
    ],
    "ip": [
        "203.0.113.9", "0.0.0.0", "255.255.255.255", "256.1.1.1", "01.2.3.4", "1.2.3", "1.2.3.4.5", "1.2.3.",
        " 1.2.3.4", "1.2.3.4\n", "١.2.3.4", "1..3.4", "2001:db8::1", "::", "::ffff:1.2.3.4", "2001:DB8::A",
        "fe80::1%eth0", ":::", "1:2:3:4:5:6:7:8:9", "", "0x1.2.3.4",
    ],
    "system_prompt_sha256": ["a" * 64, "A" * 64, "a" * 63, "a" * 65, "g" * 64, "0" * 63 + "é", "", "0" * 64],
    "tools_sha256": ["0123456789abcdef" * 4, "f" * 63 + "\n", "F" * 64, " " + "a" * 63],
    "prompt_simhash": ["0" * 16, "f" * 16, "F" * 16, "0" * 15, "0" * 17, "g" + "0" * 15, "-" + "0" * 15, ""],
    "asn": [0, 4294967295, 4294967296, -1, 3.0, 3.5, "1", True, None],
    "input_tokens": [0, 2**31 - 1, 2**31, -1, 7.0, "7", False],
    "category": ["chat", "vision", "Chat", "", None, 1],
    "cot_requested": [True, False, 0, 1, None, "true"],
}  # fmt: skip


def test_the_fast_path_never_accepts_more_than_the_rules_nor_gives_another_row():
    """Thousands of events with edge values in several fields at once: the fast path either leaves a
    line to the rules or gives exactly their row; and it still takes the bulk of the valid ones."""
    import random

    rng = random.Random(20261123)
    fast_rows = valid = 0
    for _ in range(6000):
        record = dict(FULL_EVENT)
        for name in rng.sample(sorted(_EDGY), rng.randint(1, 3)):
            if rng.random() < 0.1:
                record.pop(name, None)
            else:
                record[name] = rng.choice(_EDGY[name])
        raw = orjson.dumps(record)
        try:
            expected = _parse_line_rules(raw, 1)[1]
        except Rejected:
            expected = None
        row = _fast_event(raw)
        assert row is None or row == expected, record
        valid += expected is not None
        fast_rows += row is not None
    assert valid > 800 and fast_rows > 0.8 * valid, (valid, fast_rows)
