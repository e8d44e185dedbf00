"""Server-side time and SQL query count of the dashboard's pages and chart partials.

Builds (on PostgreSQL) a big case of `--accounts` accounts with `--events` usage
events spread over 30 days, a small case of a tenth the size, and `--alerts`
alerts, then requests every page with Django's test Client and prints p50/p95
and the number of SQL queries. The query count must be the same for both case
sizes (no N+1). Chart aggregates are stored per data version
(`AggregateSnapshot`), so the first request after new data ("cold") pays the
aggregation once; its time is printed next to the warm figures, and next to
the time of one raw scan of the case's events (the floor without aggregates).

    DATABASE_URL=postgres://... SECRET_KEY=x python bench/pages.py --accounts 1500 --events 5000000 --alerts 100000
    python bench/pages.py --reuse     # time again without rebuilding the data
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth.models import Group, User  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from accounts.models import Account  # noqa: E402
from investigations.detection.models import AccountIndicator, Indicator  # noqa: E402
from investigations.models import AggregateSnapshot, Alert, Case, CaseMembership  # noqa: E402
from investigations.services.figures import figures_refresh  # noqa: E402

PREFIX = "bench_"
DETECTORS = ["cot-elicitation-v3", "volume-anomaly", "shared-payment", "harness-match", "prompt-echo"]
SEVERITIES = ["low", "medium", "high", "critical"]


def log(msg: str) -> None:
    print(msg, flush=True)


def wipe() -> None:
    """Remove an earlier bench scenario (cascades to events, alerts and memberships)."""
    with connection.cursor() as cur:
        cur.execute("DELETE FROM accounts_usageevent WHERE event_id LIKE %s", [PREFIX + "%"])
        cur.execute("DELETE FROM investigations_alert WHERE alert_id LIKE %s", [PREFIX + "%"])
    CaseMembership.objects.filter(account__account_id__startswith=PREFIX).delete()
    Case.objects.filter(title__startswith="Bench ").update(merged_into=None)
    Case.objects.filter(title__startswith="Bench ").delete()
    Account.objects.filter(account_id__startswith=PREFIX).delete()
    Indicator.objects.filter(kind=Indicator.Kind.IP, value__startswith="198.51.", account_links__isnull=True).delete()
    AggregateSnapshot.objects.all().delete()


def _evidence(i: int) -> list[dict]:
    card, pool = i // 50, i // 20
    return [
        {"signal": "payment", "value": f"pf_{PREFIX}{card:04d}", "weight": 0.9,
         "text": f"Shares payment card pf_{PREFIX}{card:04d} with 49 other accounts"},
        {"signal": "ip", "value": f"198.51.{pool // 250}.{pool % 250}", "weight": 0.5,
         "text": f"Requests through proxy 198.51.{pool // 250}.{pool % 250}"},
        {"signal": "system_prompt", "value": "9f2c" + "0" * 60, "weight": 0.7,
         "text": "Same rare system prompt as the rest of the cluster"},
    ]  # fmt: skip


@transaction.atomic
def build_case(*, title: str, size: int, tag: str) -> Case:
    now = timezone.now()
    case = Case.objects.create(
        title=f"Bench {title}",
        risk_score=0.88,
        risk_reasons=[
            {"factor": "cot_elicitation", "weight": 0.3, "value": 0.7, "text": "70% of requests ask for CoT"}
        ],
    )
    accounts = Account.objects.bulk_create(
        [
            Account(
                account_id=f"{PREFIX}{tag}{i:05d}",
                created_at=now - timezone.timedelta(days=40),
                email=f"user{i}@bench.example",
                payment_fingerprint=f"pf_{PREFIX}{i // 50:04d}",
                signup_ip=f"203.0.{i // 250}.{i % 250}",
                flagged_at=now if i % 3 == 0 else None,
                enforcement=Account.Enforcement.BANNED if i % 17 == 0 else Account.Enforcement.NONE,
            )
            for i in range(size)
        ],
        batch_size=2000,
    )
    CaseMembership.objects.bulk_create(
        [
            CaseMembership(case=case, account=a, evidence=_evidence(i), link_strength=0.5 + (i % 10) / 20)
            for i, a in enumerate(accounts)
        ],
        batch_size=2000,
    )
    return case


def build_events(*, case: Case, total: int, tag: str) -> None:
    """Insert `total` events for the case's accounts with one INSERT ... SELECT over generate_series."""
    sql = f"""
        CREATE TEMP TABLE IF NOT EXISTS bench_members (idx int, id bigint);
        TRUNCATE bench_members;
        INSERT INTO bench_members
            SELECT row_number() OVER (ORDER BY account_id) - 1, account_id
            FROM investigations_casemembership WHERE case_id = %(case)s;
        INSERT INTO accounts_usageevent (
            event_id, account_id, ts, api_key_id, ip, asn, user_agent, ja4, model, input_tokens, output_tokens,
            category, cot_requested, system_prompt_sha256, tools_sha256, prompt_simhash, prompt_excerpt, batch_id)
        SELECT
            '{PREFIX}{tag}' || g, m.id,
            now() - make_interval(secs => (g::float8 / %(total)s) * 30 * 86400),
            '', ('198.51.' || (m.idx / 5000) || '.' || ((m.idx / 20) %% 250))::inet, 64500, 'python-httpx/0.27', '',
            'model-large', 300 + g %% 500, 800 + (g * 7) %% 1200,
            (ARRAY['reasoning','coding','chat','agentic','reasoning','coding'])[1 + g %% 6],
            (g / %(size)s) %% 10 < 7, '9f2c' || repeat('0', 60), '', NULL,
            CASE WHEN g %% 97 = 0 THEN 'Think step by step and show your full reasoning for task ' || g ELSE '' END,
            NULL
        FROM generate_series(0, %(total)s - 1) AS g
        JOIN bench_members m ON m.idx = g %% %(size)s;
    """
    size = CaseMembership.objects.filter(case=case).count()
    with connection.cursor() as cur:
        cur.execute(sql, {"case": case.pk, "total": total, "size": size})
        cur.execute("ANALYZE accounts_usageevent")


def build_ip_indicators(*, case: Case) -> None:
    """Detection's indicator index for the proxy IPs (what `detect` builds), so IP search is an index probe."""
    size = CaseMembership.objects.filter(case=case).count()
    members = list(CaseMembership.objects.filter(case=case).order_by("account_id").values_list("account_id", flat=True))
    pools: dict[str, list[int]] = {}
    for idx, account_id in enumerate(members):
        pools.setdefault(f"198.51.{idx // 5000}.{(idx // 20) % 250}", []).append(account_id)
    indicators = {
        i.value: i
        for i in Indicator.objects.bulk_create(
            [Indicator(kind=Indicator.Kind.IP, value=ip, account_count=len(ids)) for ip, ids in pools.items()],
            ignore_conflicts=False,
        )
    }
    AccountIndicator.objects.bulk_create(
        [
            AccountIndicator(account_id=a, indicator=indicators[ip], events=size)
            for ip, ids in pools.items()
            for a in ids
        ],
        batch_size=5000,
    )


def build_alerts(*, total: int, cases: list[Case]) -> None:
    """`total` alerts: a few on the case accounts, most on background accounts (the queue's bulk)."""
    now = timezone.now()
    background = Account.objects.bulk_create(
        [Account(account_id=f"{PREFIX}bg{i:06d}", flagged_at=now) for i in range(max(1, total // 20))],
        batch_size=5000,
    )
    members = list(Account.objects.filter(memberships__case__in=cases).values_list("id", flat=True))
    rows = []
    for i in range(total):
        on_case = i % 10 == 0 and members
        rows.append(
            Alert(
                alert_id=f"{PREFIX}a{i:07d}",
                account_id=members[i % len(members)] if on_case else background[i % len(background)].pk,
                detector=DETECTORS[i % len(DETECTORS)],
                score=((i * 37) % 100) / 100,
                severity=SEVERITIES[i % 4],
                raised_at=now - timezone.timedelta(minutes=i * 3),
                summary="Output-token volume 14x the account's baseline",
                status=Alert.Status.NEW if i % 4 else Alert.Status.ACKNOWLEDGED,
            )
        )
        if len(rows) == 10_000:
            Alert.objects.bulk_create(rows)
            rows = []
    Alert.objects.bulk_create(rows)
    with connection.cursor() as cur:
        cur.execute("ANALYZE investigations_alert; ANALYZE accounts_account; ANALYZE investigations_casemembership")


def analyst() -> User:
    user, _ = User.objects.get_or_create(username="bench-analyst")
    user.groups.add(Group.objects.get(name="analyst"))
    return user


def time_url(client: Client, url: str, repeat: int, *, htmx: bool = False) -> dict:
    headers = {"HX-Request": "true"} if htmx else {}
    with CaptureQueriesContext(connection) as ctx:
        start = time.perf_counter()
        response = client.get(url, headers=headers)
        cold = time.perf_counter() - start
    if response.status_code != 200:
        raise SystemExit(f"{url} answered {response.status_code}")
    first_queries = len(ctx.captured_queries)
    times = []
    for _ in range(repeat):
        with CaptureQueriesContext(connection) as ctx:
            start = time.perf_counter()
            client.get(url, headers=headers)
            times.append(time.perf_counter() - start)
    times.sort()
    return {
        "cold_ms": cold * 1000,
        "p50_ms": statistics.median(times) * 1000,
        "p95_ms": times[max(0, int(round(0.95 * len(times))) - 1)] * 1000,
        "queries": len(ctx.captured_queries),
        "cold_queries": first_queries,
    }


def raw_scan_ms(case: Case) -> float:
    """One aggregate over the case's raw events: what every chart would cost without stored aggregates."""
    with connection.cursor() as cur:
        start = time.perf_counter()
        cur.execute(
            "SELECT count(*), sum(output_tokens) FROM accounts_usageevent e "
            "JOIN investigations_casemembership m ON m.account_id = e.account_id WHERE m.case_id = %s",
            [case.pk],
        )
        cur.fetchone()
        return (time.perf_counter() - start) * 1000


def refresh_ms(case: Case) -> float:
    """What the worker spends after detection changed the case: every stored figure, from nothing."""
    AggregateSnapshot.objects.filter(key__regex=rf"^[a-z-]+:{case.pk}(:|$)").delete()
    start = time.perf_counter()
    figures_refresh([case.pk])
    return (time.perf_counter() - start) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--accounts", type=int, default=1500)
    parser.add_argument("--events", type=int, default=5_000_000)
    parser.add_argument("--alerts", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--reuse", action="store_true", help="time the scenario built by an earlier run")
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        raise SystemExit("bench/pages.py needs PostgreSQL: set DATABASE_URL")
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]

    if not args.reuse:
        t0 = time.perf_counter()
        wipe()
        big = build_case(title="large operator", size=args.accounts, tag="c")
        small = build_case(title="small operator", size=max(2, args.accounts // 10), tag="s")
        log(f"accounts and memberships: {time.perf_counter() - t0:.1f}s")
        t0 = time.perf_counter()
        build_events(case=big, total=args.events, tag="e")
        build_events(case=small, total=max(10, args.events // 10), tag="f")
        build_ip_indicators(case=big)
        log(f"events: {time.perf_counter() - t0:.1f}s")
        t0 = time.perf_counter()
        build_alerts(total=args.alerts, cases=[big, small])
        log(f"alerts: {time.perf_counter() - t0:.1f}s")
    big = Case.objects.get(title="Bench large operator")
    small = Case.objects.get(title="Bench small operator")
    client = Client()
    client.force_login(analyst())

    sizes = {c.pk: c.memberships.count() for c in (big, small)}
    events = {
        c.pk: Account.objects.filter(memberships__case=c).aggregate(n=django.db.models.Count("events"))["n"]
        for c in (big, small)
    }
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    log(f"load: {load} (1/5/15 min), cores: {os.cpu_count()}")
    log(f"alerts in the queue: {Alert.objects.count():,}")
    header = f"{'page':<34}{'case':>14}{'cold ms':>10}{'p50 ms':>9}{'p95 ms':>9}{'queries':>9}"
    log(header)
    log("-" * len(header))
    for case in (small, big):
        label = f"{sizes[case.pk]:,} acc/{events[case.pk] / 1e6:.2f}M"
        member = CaseMembership.objects.filter(case=case).select_related("account").first().account.account_id
        pages = [
            ("case page", f"/cases/{case.pk}/", False),
            ("  graph partial", f"/cases/{case.pk}/graph/", True),
            ("  timeline partial", f"/cases/{case.pk}/timeline/", True),
            ("  accounts by requests p3", f"/cases/{case.pk}/accounts/?sort=-requests&page=3", True),
            ("  graph node (indicator)", f"/cases/{case.pk}/graph/node/?ref=indicator:0", True),
            ("account page", f"/accounts/{member}/", False),
            ("  account timeline", f"/accounts/{member}/timeline/", True),
        ]
        for name, url, htmx in pages:
            r = time_url(client, url, args.repeat, htmx=htmx)
            log(f"{name:<34}{label:>14}{r['cold_ms']:>10.0f}{r['p50_ms']:>9.1f}{r['p95_ms']:>9.1f}{r['queries']:>9}")
        log(f"{'  raw scan of the case events':<34}{label:>14}{raw_scan_ms(case):>10.0f}")
        log(f"{'  figures_refresh (worker)':<34}{label:>14}{refresh_ms(case):>10.0f}")
        for name, url, htmx in pages[:3]:
            r = time_url(client, url, 1, htmx=htmx)
            log(f"{'  after refresh: ' + name.strip():<34}{label:>14}{r['cold_ms']:>10.0f}")
    for name, url in [
        ("overview", "/"),
        ("alert queue (new, newest)", "/alerts/"),
        ("alert queue p20 by score", "/alerts/?status=all&sort=-score&page=20"),
        ("alert queue filtered", "/alerts/?detector=shared-payment&severity=high&score_min=0.5"),
        ("cases list", "/cases/"),
        ("cases search by IP", "/cases/?q=198.51.0.3"),
    ]:
        r = time_url(client, url, args.repeat)
        log(f"{name:<34}{'':>14}{r['cold_ms']:>10.0f}{r['p50_ms']:>9.1f}{r['p95_ms']:>9.1f}{r['queries']:>9}")
    log("target: p95 < 300 ms for every page and partial; queries equal for both case sizes")


if __name__ == "__main__":
    main()
