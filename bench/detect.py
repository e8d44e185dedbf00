"""Benchmark detection: full recompute and the incremental run after a 100,000-event batch, on PostgreSQL.

Usage (a scratch database: the script empties the account, event, case and detection tables):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/hydra_bench SECRET_KEY=x \\
        .venv/bin/python bench/detect.py --sizes 20000:1000000 50000:4000000 200000:16000000

Each size is ACCOUNTS:EVENTS; 12% of accounts are flagged (24,000 of 200,000 at the reference
size), in three attacker operators plus ordinary users. Data is generated inside PostgreSQL
(generate_series) and vacuumed as autovacuum would after a bulk load, so the benchmark measures
detection, not the generator. Printed per size:
the time of each pipeline step, the full recompute, the incremental runs (a 100,000-event batch from
a tenth of the accounts, then another from a hundredth), peak memory (RSS) of
this process, and the physical floor: one bare sequential GROUP BY pass over the event table.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from investigations.detection.services import detection_run  # noqa: E402

FLAGGED_SHARE = 0.12
INCREMENT_EVENTS = 100_000
START = "2026-01-05"
DAYS = 30


def _sql(statement: str, params: list | None = None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params or [])


def _reset() -> None:
    _sql(
        "TRUNCATE accounts_usageevent, accounts_account, investigations_alert, investigations_casemembership, "
        "investigations_case, detection_accountfeatures, detection_accountindicator, detection_indicator, "
        "detection_accountlink, detection_accountbatch, detection_detectionrun RESTART IDENTITY CASCADE"
    )


def _generate(accounts: int, events: int) -> None:
    """Accounts: the first 12% are attackers of 3 operators (cards shared by 20, one prompt, a proxy pool)."""
    attackers = int(accounts * FLAGGED_SHARE)
    _sql(
        """
        INSERT INTO accounts_account (account_id, created_at, email, org_id, tier, verification, country,
            payment_fingerprint, signup_ip, signup_user_agent, provider_status, enforcement, flagged_at,
            first_ingested_at, snapshot_versions)
        SELECT 'acct_' || g,
               %(start)s::timestamptz - interval '40 days' + (g %% 997) * interval '1 minute' * CASE WHEN g <= %(att)s
                   THEN 1 ELSE 40 END,
               CASE WHEN g <= %(att)s THEN 'op' || (g %% 3) || '.user' || g || '@mail' || (g %% 3) || '.example'
                    ELSE 'person' || g || '@mail.example' END,
               '', CASE WHEN g <= %(att)s THEN 'education' ELSE 'build' END, 'email', 'DE',
               CASE WHEN g <= %(att)s THEN 'pf_op' || (g %% 3) || '_' || (g / 60) ELSE 'pf_' || g END,
               CASE WHEN g <= %(att)s THEN ('10.' || (g %% 3) || '.' || ((g / 250) %% 250) || '.' || (g %% 250))::inet
                    ELSE ('100.' || (64 + g / 65000) || '.' || ((g / 250) %% 250) || '.' || (g %% 250))::inet END,
               'Mozilla/5.0', '', 'none',
               CASE WHEN g <= %(att)s THEN now() ELSE NULL END, now(), '{}'::jsonb
        FROM generate_series(1, %(n)s) AS g
        """,
        {"start": START, "att": attackers, "n": accounts},
    )
    _sql("INSERT INTO investigations_alert (alert_id, account_id, detector, score, raised_at, severity, summary, "
         "source, status, dismiss_reason) SELECT 'al_' || id, id, 'volume-anomaly', 0.9, now(), 'high', '', "
         "'upstream', 'new', '' FROM accounts_account WHERE flagged_at IS NOT NULL")  # fmt: skip
    _insert_events(events, accounts, attackers, offset=0, batch_id=1)
    # What autovacuum does to an insert-only table soon after a bulk load: hint bits and the
    # visibility map (index-only scans). Measuring right after the load would time that instead.
    _sql("VACUUM ANALYZE accounts_usageevent")
    # And write the generator's dirty pages out now: otherwise the checkpoint that flushes them lands
    # somewhere in the timed run (one step varied by 9 s between two runs of the same code here).
    _sql("CHECKPOINT")


def _insert_events(
    events: int, accounts: int, attackers: int, *, offset: int, batch_id: int, days: int = DAYS, start: str = START
) -> None:
    """Attackers send half the events: CoT reasoning, one system prompt per operator, a 400-IP proxy pool."""
    _sql(
        """
        INSERT INTO accounts_usageevent (event_id, account_id, ts, api_key_id, ip, asn, user_agent, ja4, model,
            input_tokens, output_tokens, category, cot_requested, system_prompt_sha256, tools_sha256,
            prompt_simhash, prompt_excerpt, batch_id)
        SELECT 'ev_' || (%(off)s + g), a, %(start)s::timestamptz + (g %% (%(days)s * 86400)) * interval '1 second',
               'key_' || a,
               CASE WHEN att THEN ('10.9' || (a %% 3) || '.' || ((g / 7) %% 2) || '.' || ((g * 7) %% 200))::inet
                    ELSE ('100.' || (64 + a / 65000) || '.' || ((a / 250) %% 250) || '.' || (a %% 250))::inet END,
               CASE WHEN att THEN 16509 ELSE 3320 + a %% 50 END,
               CASE WHEN att THEN 'harvest-runner/1.' || (a %% 3) ELSE 'python-httpx/0.27.2' END,
               't13d_' || CASE WHEN att THEN a %% 3 ELSE a %% 7 + 10 END, 'frontier-large',
               800, CASE WHEN att THEN 3000 ELSE 600 END,
               CASE WHEN att THEN 'reasoning' ELSE 'chat' END, att,
               CASE WHEN att THEN md5('prompt' || (a %% 3)) || md5('p' || (a %% 3)) ELSE '' END,
               CASE WHEN att THEN md5('tools' || (a %% 3)) || md5('t' || (a %% 3)) ELSE '' END,
               CASE WHEN att THEN (1234567890123 * (a %% 3 + 1)) # (1::bigint << (g %% 64))
                    ELSE (g * 2654435761)::bigint END,
               '', %(batch)s
        FROM (
            SELECT g, CASE WHEN g %% 2 = 0 THEN 1 + (g / 2) %% %(att)s
                           ELSE %(att)s + 1 + (g / 2) %% (%(n)s - %(att)s) END AS a,
                   g %% 2 = 0 AS att
            FROM generate_series(1, %(e)s) AS g
        ) s
        """,
        {"off": offset, "start": start, "days": days, "att": attackers, "n": accounts, "e": events, "batch": batch_id},
    )
    _sql("ANALYZE accounts_usageevent")


def _floor_seconds() -> float:
    """The physical floor: one sequential aggregate over every event row."""
    started = time.perf_counter()
    _sql("SELECT account_id, count(*), sum(output_tokens) FROM accounts_usageevent GROUP BY account_id")
    return time.perf_counter() - started


def run(accounts: int, events: int) -> None:
    _reset()
    started = time.perf_counter()
    _generate(accounts, events)
    generated = time.perf_counter() - started
    floor = _floor_seconds()

    started = time.perf_counter()
    full = detection_run(full=True)
    full_seconds = time.perf_counter() - started

    # The next batch: one more day of traffic from a tenth of the accounts (as many attackers as before).
    # Its accounts are all among the first tenth of ids, so at this share every one of them is flagged.
    attackers = int(accounts * FLAGGED_SHARE)
    active = max(accounts // 10, 2 * attackers // 10)
    _insert_events(INCREMENT_EVENTS, active, attackers // 10, offset=events, batch_id=2, days=1, start="2026-02-04")
    started = time.perf_counter()
    incremental = detection_run(batch_id=2)
    incremental_seconds = time.perf_counter() - started
    # And a narrower batch after it: the same number of events from a hundredth of the accounts.
    narrow = max(accounts // 100, 2)
    _insert_events(INCREMENT_EVENTS, narrow, narrow // 2, offset=events + INCREMENT_EVENTS, batch_id=3, days=1,
                   start="2026-02-05")  # fmt: skip
    started = time.perf_counter()
    narrow_run = detection_run(batch_id=3)
    narrow_seconds = time.perf_counter() - started

    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(
        f"accounts {accounts:>8,}  events {events:>11,}  flagged {attackers:>6,}  (generated in {generated:.1f}s)\n"
        f"  floor (one GROUP BY scan of events): {floor:7.2f}s\n"
        f"  full recompute:                      {full_seconds:7.2f}s  steps {full.stats['timings']}\n"
        f"  incremental after {INCREMENT_EVENTS:,} events:  {incremental_seconds:7.2f}s  "
        f"({incremental.stats['scope_accounts']:,} accounts in scope) steps {incremental.stats['timings']}\n"
        f"  incremental, narrower batch:         {narrow_seconds:7.2f}s  "
        f"({narrow_run.stats['scope_accounts']:,} accounts in scope) steps {narrow_run.stats['timings']}\n"
        f"  cases {full.stats.get('components', 0)}, peak RSS of this process {peak_mb:,.0f} MB, "
        f"load average now {load}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", nargs="+", default=["5000:250000", "10000:500000", "20000:1000000"])
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        parser.error("bench/detect.py measures PostgreSQL: set DATABASE_URL to a scratch database")
    call_command("migrate", verbosity=0)
    os.system("uptime")  # noqa: S605 - the shared machine's load, printed with the figures
    for size in args.sizes:
        accounts, events = (int(part) for part in size.split(":"))
        run(accounts, events)


if __name__ == "__main__":
    main()
