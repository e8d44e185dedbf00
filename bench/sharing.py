"""Sharing at the reference scale: export a big case, page a big TAXII collection, import a big partner bundle.

Targets (issue 6): each under 10 s on this machine.

1. export a case of 1,500 confirmed accounts (collect, rarity against all accounts and events, build, lint,
   sign): time and bundle size;
2. page through a TAXII collection of 100,000 objects with the OASIS `taxii2-client` over real HTTP;
3. import a partner bundle of 50,000 indicators and match it against 200,000 accounts and 16,000,000 events.

Floors printed beside them, from the same run: a bare sequential scan of the events table (the least any
event-side match or rarity count can cost without an index), and json.loads of the partner bundle.

The data set is generated inside PostgreSQL (generate_series) in the database of DATABASE_URL and kept
between runs (account ids prefixed `bsh_`); `--scale 0.1` makes everything ten times smaller.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/hydra_f SECRET_KEY=x python bench/sharing.py --scale 0.1
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.pop("CELERY_BROKER_URL", None)
os.environ.setdefault("SHARING_SIGNING_KEY", base64.b64encode(bytes(range(32))).decode())
os.environ.setdefault("SHARING_COMMUNITY_KEYS", json.dumps({"bench": "bench-community-secret"}))

import django  # noqa: E402

django.setup()

from django.contrib.auth.models import Group, User  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402

from accounts.models import Account, UsageEvent  # noqa: E402
from investigations.models import Case, CaseMembership  # noqa: E402
from investigations.sharing import identifiers, importer, lint, signing  # noqa: E402
from investigations.sharing.export import build_export  # noqa: E402
from investigations.sharing.models import Partner, PartnerImport, Publication, SharingCommunity, TaxiiObject  # noqa: E402

OPERATOR_UA = "harvest-kit/3.1"
POPULAR_UA = "python-httpx/0.27"
SYSTEM_PROMPT = "5" * 64


def log(msg: str) -> None:
    print(msg, flush=True)


def timed(label: str, fn):
    start = time.perf_counter()
    result = fn()
    elapsed = time.perf_counter() - start
    log(f"  {label}: {elapsed:.2f} s")
    return result, elapsed


def generate(n_accounts: int, n_events: int, n_case: int) -> None:
    """Accounts and events in SQL. The first n_case accounts are the operator: proxy IPs, own UA/JA4/prompt."""
    have = Account.objects.filter(account_id__startswith="bsh_").count()
    if have == n_accounts and UsageEvent.objects.filter(event_id__startswith="bse_").count() == n_events:
        log(f"data present: {n_accounts:,} accounts, {n_events:,} events")
        return
    log(f"generating {n_accounts:,} accounts and {n_events:,} events (once) ...")
    with connection.cursor() as cur:
        # This database holds only bench data: start clean (alerts, matches, index rows go with the accounts).
        cur.execute("TRUNCATE accounts_usageevent, accounts_account, detection_indicator CASCADE")
        cur.execute(
            """
            INSERT INTO accounts_account (account_id, created_at, email, org_id, tier, verification, country,
                payment_fingerprint, signup_ip, signup_user_agent, provider_status, enforcement, first_ingested_at,
                snapshot_versions)
            SELECT 'bsh_' || g, now() - interval '60 days' + (g %% 1000) * interval '1 minute',
                CASE WHEN g <= %(c)s THEN 'op' || g || '@relay-mail.example' ELSE 'user' || g || '@gmail.com' END,
                '', 'build', 'email', 'DE',
                CASE WHEN g <= %(c)s THEN 'pf_op_' || (g %% 40) ELSE 'pf_' || g END,
                CASE WHEN g <= %(c)s THEN ('203.0.' || (g %% 200) || '.' || (g %% 250 + 1))::inet
                     ELSE ('10.' || (g / 65536) || '.' || ((g / 256) %% 256) || '.' || (g %% 256))::inet END,
                'Mozilla/5.0', '', CASE WHEN g <= %(c)s THEN 'banned' ELSE 'none' END, now(), '{}'
            FROM generate_series(1, %(n)s) g
            """,
            {"n": n_accounts, "c": n_case},
        )
        cur.execute("SELECT min(id) FROM accounts_account WHERE account_id LIKE 'bsh_%%'")
        first_id = cur.fetchone()[0]
        # Event g belongs to account g % n. Ordinary accounts use two home IPs, one JA4 and one of 500 ASNs;
        # operator accounts (the first n_case) use 3,000 proxy IPs, their own UA, JA4 and system prompt, and
        # also the popular SDK and the big cloud ASN everyone uses.
        cur.execute(
            """
            INSERT INTO accounts_usageevent (event_id, account_id, ts, api_key_id, ip, asn, user_agent, ja4, model,
                input_tokens, output_tokens, category, cot_requested, system_prompt_sha256, tools_sha256,
                prompt_simhash, prompt_excerpt, batch_id)
            SELECT 'bse_' || g, %(first)s + (g %% %(n)s),
                now() - interval '30 days' + (g %% 2592000) * interval '1 second', 'k',
                CASE WHEN g %% %(n)s < %(c)s AND g %% 3 <> 0
                     THEN ('198.18.' || (g %% 12) || '.' || (g %% 250 + 1))::inet
                     ELSE ('100.' || (64 + (g %% %(n)s) %% 64) || '.' || ((g %% %(n)s) / 64 %% 256) || '.'
                           || ((g %% %(n)s) %% 128 + (g %% 2) * 128))::inet END,
                CASE WHEN g %% 3 = 0 THEN 16509 ELSE 64500 + (g %% %(n)s) %% 500 END,
                CASE WHEN g %% %(n)s < %(c)s AND g %% 2 = 0 THEN %(op_ua)s ELSE %(pop_ua)s END,
                CASE WHEN g %% %(n)s < %(c)s THEN 't13d1516h2_op' ELSE 't13d1516h2_' || ((g %% %(n)s) %% 97) END,
                'model-large', 800, 1200, 'coding', g %% 5 = 0,
                CASE WHEN g %% %(n)s < %(c)s THEN %(sp)s ELSE '' END, '',
                CASE WHEN g %% %(n)s < %(c)s AND g %% 4 = 0 THEN 4242 ELSE (g * 2654435761) %% 9007199254740991 END,
                'prompt text ' || g, NULL
            FROM generate_series(1, %(e)s) g
            """,
            {
                "first": first_id,
                "n": n_accounts,
                "c": n_case,
                "e": n_events,
                "op_ua": OPERATOR_UA,
                "pop_ua": POPULAR_UA,
                "sp": SYSTEM_PROMPT,
            },
        )
    with connection.cursor() as cur:
        cur.execute("VACUUM ANALYZE accounts_usageevent")
        cur.execute("VACUUM ANALYZE accounts_account")


def ensure_detection_index() -> None:
    from investigations.detection.indicators import indicators_refresh
    from investigations.detection.models import Indicator

    if Indicator.objects.filter(account_count__gt=0).exists():
        return

    log("building detection's indicator index (done by detection after each batch; not part of the timings)")
    with connection.cursor() as cur:
        # Its full rebuild ends with `DELETE ... NOT IN (subquery)`, which is only hashed when it fits work_mem.
        cur.execute("SET work_mem = '512MB'")
    timed("indicators_refresh", indicators_refresh)
    with connection.cursor() as cur:
        cur.execute("RESET work_mem")


def operator_case(n_case: int) -> Case:
    case = Case.objects.filter(title="Bench operator").first()
    if case is None:
        case = Case.objects.create(
            title="Bench operator", resolution=Case.Resolution.CONFIRMED_ATTACK, status=Case.Status.CLOSED
        )
    ids = list(
        Account.objects.filter(account_id__startswith="bsh_").order_by("pk").values_list("pk", flat=True)[:n_case]
    )
    CaseMembership.objects.filter(account_id__in=ids).exclude(case=case).delete()
    have = set(CaseMembership.objects.filter(case=case).values_list("account_id", flat=True))
    CaseMembership.objects.bulk_create(
        [CaseMembership(case=case, account_id=i) for i in ids if i not in have], batch_size=5000
    )
    return case


def bench_export(case: Case, community: SharingCommunity) -> None:
    log("1. export the case")
    export, t_build = timed("collect + rarity + build", lambda: build_export(cases=[case], community=community))
    problems, t_lint = timed("lint", lambda: lint.lint_bundle(export.bundle, private_values=export.private_values))
    jws, t_sign = timed("sign (RFC 8785 + Ed25519)", lambda: signing.sign(export.bundle))
    size = len(json.dumps(export.bundle).encode())
    log(
        f"  => {len(export.collected.accounts):,} accounts, {len(export.bundle['objects']):,} objects, "
        f"{size / 1e6:.2f} MB, {len(export.included):,} values shared, {len(export.withheld):,} withheld, "
        f"lint problems {len(problems)}; total {t_build + t_lint + t_sign:.2f} s"
    )
    assert not problems, problems[:3]
    assert signing.verify(export.bundle, jws)


def fill_collection(community: SharingCommunity, n_objects: int, user: User) -> None:
    have = TaxiiObject.objects.filter(community=community).count()
    if have >= n_objects:
        return
    log(f"  filling the collection with {n_objects - have:,} objects ...")
    publication = Publication.objects.create(
        scope_key="bench",
        community=community,
        bundle={},
        bundle_sha256="",
        requested_by=user,
        status=Publication.Status.PUBLISHED,
    )
    now = timezone.now()
    rows = []
    for i in range(have, n_objects):
        obj = {
            "type": "indicator",
            "spec_version": "2.1",
            "id": f"indicator--{uuid.uuid4()}",
            "created": "2026-11-01T00:00:00.000Z",
            "modified": "2026-11-01T00:00:00.000Z",
            "name": f"Proxy egress {i}",
            "pattern": f"[ipv4-addr:value = '198.18.{i // 250 % 256}.{i % 250}']",
            "pattern_type": "stix",
            "valid_from": "2026-11-01T00:00:00Z",
            "indicator_types": ["anonymization"],
            "object_marking_refs": ["marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421"],
        }
        rows.append(
            TaxiiObject(
                community=community,
                publication=publication,
                stix_id=obj["id"],
                stix_type="indicator",
                version=obj["modified"],
                date_added=now + timezone.timedelta(microseconds=i),
                sha256=signing.sha256_canonical(obj),
                data=obj,
            )
        )
        if len(rows) == 5000:
            TaxiiObject.objects.bulk_create(rows)
            rows = []
    TaxiiObject.objects.bulk_create(rows)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for_port(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise RuntimeError("gunicorn did not start")


def bench_taxii(community: SharingCommunity, n_objects: int, user: User) -> None:
    from taxii2client.v21 import Collection, as_pages

    log(
        f"2. page through a TAXII collection of {n_objects:,} objects "
        "(taxii2-client over HTTP to gunicorn -w 2, 1,000 per page)"
    )
    fill_collection(community, n_objects, user)
    partner = Partner.objects.filter(username="bench-reader").first() or Partner(
        name="Bench reader", username="bench-reader"
    )
    partner.set_password("bench-pw")
    partner.save()
    partner.communities.set([community])
    # Served as in production: gunicorn, two workers (one per core).
    port = _free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "config.wsgi",
            "-b",
            f"127.0.0.1:{port}",
            "-w",
            "2",
            "--log-level",
            "warning",
        ],
        cwd=Path(__file__).resolve().parent.parent,
        env={**os.environ, "ALLOWED_HOSTS": "127.0.0.1"},
    )
    _wait_for_port(port)
    url = f"http://127.0.0.1:{port}/taxii2/hydra/collections/{community.collection_id}/"
    collection = Collection(url, user="bench-reader", password="bench-pw")

    def read_all() -> tuple[int, int]:
        count = pages = 0
        for envelope in as_pages(collection.get_objects, per_request=1000):
            count += len(envelope.get("objects", []))
            pages += 1
        return count, pages

    for _ in range(4):  # warm both workers (imports, URLconf, DB connection) before timing
        collection.get_objects(limit=1)
    try:
        (count, pages), elapsed = timed("all pages", read_all)
    finally:
        server.terminate()
        server.wait(timeout=30)
    log(f"  => {count:,} objects in {pages} pages, {count / elapsed:,.0f} objects/s")


def partner_bundle(n_indicators: int, n_case: int) -> bytes:
    """Mostly values we have never seen, plus a slice of the operator's: IPs, UAs, keyed e-mail hashes."""
    key = identifiers.community_key("bench")
    objects = []

    def indicator(pattern: str, i: int) -> dict:
        return {
            "type": "indicator",
            "spec_version": "2.1",
            "id": f"indicator--{uuid.uuid4()}",
            "created": "2026-11-01T00:00:00.000Z",
            "modified": "2026-11-01T00:00:00.000Z",
            "name": f"Partner indicator {i}",
            "pattern": pattern,
            "pattern_type": "stix",
            "valid_from": "2026-11-01T00:00:00Z",
            "confidence": 70,
            "object_marking_refs": ["marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421"],
        }

    hits = min(n_case, n_indicators // 20)
    for i in range(n_indicators):
        kind = i % 5
        if i < hits * 5 and kind == 0:
            pattern = f"[ipv4-addr:value = '198.18.{i % 12}.{i % 250 + 1}']"
        elif i < hits * 5 and kind == 1:
            h = identifiers.keyed_hash(
                key=key, identifier_type=identifiers.EMAIL, value=f"op{i // 5 + 1}@relay-mail.example"
            )
            pattern = (
                f"[hashed-identifier:identifier_type = 'email-addr' AND hashed-identifier:key_id = 'bench' "
                f"AND hashed-identifier:value_hmac = '{h}']"
            )
        elif kind == 0:
            pattern = f"[ipv4-addr:value = '192.0.{i // 256 % 256}.{i % 256}']"
        elif kind == 1:
            h = identifiers.keyed_hash(key=key, identifier_type=identifiers.EMAIL, value=f"nobody{i}@example.org")
            pattern = (
                f"[hashed-identifier:identifier_type = 'email-addr' AND hashed-identifier:key_id = 'bench' "
                f"AND hashed-identifier:value_hmac = '{h}']"
            )
        elif kind == 2:
            pattern = f"[network-traffic:extensions.'http-request-ext'.request_header.'User-Agent' = 'tool-{i}/1.0']"
        elif kind == 3:
            pattern = f"[client-fingerprint:kind = 'ja4' AND client-fingerprint:value = 't13d_{i}']"
        else:
            pattern = f"[prompt-fingerprint:kind = 'system-prompt' AND prompt-fingerprint:sha256 = '{i:064x}']"
        objects.append(indicator(pattern, i))
    objects.append(
        indicator(
            f"[network-traffic:extensions.'http-request-ext'.request_header.'User-Agent' = '{OPERATOR_UA}']",
            n_indicators,
        )
    )
    return json.dumps({"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "objects": objects}).encode()


def bench_import(n_indicators: int, n_case: int, n_accounts: int, n_events: int, user: User) -> None:
    log(f"3. import {n_indicators:,} partner indicators, match against {n_accounts:,} accounts / {n_events:,} events")
    raw = partner_bundle(n_indicators, n_case)
    _, t_json = timed(f"floor: json.loads of the {len(raw) / 1e6:.1f} MB bundle", lambda: json.loads(raw))
    with connection.cursor() as cur:
        _, t_scan = timed(
            "floor: bare scan of the events (count(*) WHERE ip = ANY(...))",
            lambda: (cur.execute("SELECT count(*) FROM accounts_usageevent WHERE user_agent = 'x'"), cur.fetchone()),
        )
    partner = Partner.objects.filter(username="bench-partner").first()
    if partner is None:
        partner = Partner(name="Bench partner", username="bench-partner")
        partner.set_password("x")
        partner.save()

    def run() -> PartnerImport:
        return importer.import_bundle(
            partner=partner, raw=raw, jws=None, actor=user, source=PartnerImport.Source.UPLOAD, filename="bench.json"
        )

    record, _ = timed("validate + store + match + alerts", run)
    log(f"  => {record.indicator_count:,} indicators, {record.match_count:,} matches, {record.alert_count:,} alerts")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--only", choices=["export", "taxii", "import"])
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("Set DATABASE_URL to a PostgreSQL database (e.g. hydra_f).")
    n_accounts, n_events = int(200_000 * args.scale), int(16_000_000 * args.scale)
    n_case, n_objects, n_indicators = 1_500, int(100_000 * args.scale), int(50_000 * args.scale)
    log(f"load: {os.getloadavg()}; scale {args.scale}")
    call_command("migrate", verbosity=0)
    generate(n_accounts, n_events, n_case)
    ensure_detection_index()
    user = User.objects.filter(username="bench-lead").first() or User.objects.create_user("bench-lead")
    user.groups.add(*Group.objects.filter(name__in=["lead", "admin"]))
    community = SharingCommunity.objects.get_or_create(name="Bench community", defaults={"key_id": "bench"})[0]
    case = operator_case(n_case)
    if args.only in (None, "export"):
        bench_export(case, community)
    if args.only in (None, "taxii"):
        bench_taxii(community, n_objects, user)
    if args.only in (None, "import"):
        bench_import(n_indicators, n_case, n_accounts, n_events, user)
    log(f"load: {os.getloadavg()}")


if __name__ == "__main__":
    main()
