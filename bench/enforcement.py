"""Time to ban a big case and to deliver its changes to a gateway, next to the floors of the same work.

Runs on PostgreSQL in a throw-away database (`test_<name>`, migrated, then dropped).
It builds a case of `--accounts` flagged accounts, then times:

1. the analyst's request (above the threshold: it waits for a lead, the items are stored);
2. the lead's approval, which applies the ban: one UPDATE of the accounts, one
   multi-row INSERT of the outbox changes, the audit rows, in one transaction;
   floor: a bare SQL UPDATE + INSERT of the same number of rows, rolled back;
3. delivery of every change to a local HTTP receiver (200 OK) by `deliver_due`;
   floor: the same number of signed POSTs on one connection, no database.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/hydra_e SECRET_KEY=x python bench/enforcement.py --accounts 1500
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.pop("CELERY_BROKER_URL", None)  # deliveries are timed in this process, not handed to a worker

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth.models import Group, User  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from accounts.models import Account  # noqa: E402
from investigations.enforcement import delivery, services  # noqa: E402
from investigations.enforcement.models import EnforcementChange  # noqa: E402
from investigations.models import Case, CaseMembership  # noqa: E402


def log(msg: str) -> None:
    print(msg, flush=True)


class _Receiver(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as a real gateway would

    def do_POST(self) -> None:  # noqa: N802
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        return


def build_case(size: int) -> Case:
    now = timezone.now()
    case = Case.objects.create(title="Bench hydra", risk_score=0.9)
    accounts = Account.objects.bulk_create(
        [Account(account_id=f"bench_{i:06d}", flagged_at=now) for i in range(size)], batch_size=5000
    )
    CaseMembership.objects.bulk_create(
        [
            CaseMembership(case=case, account=a, evidence=[{"signal": "payment", "text": "Shares a card"}])
            for a in accounts
        ],
        batch_size=5000,
    )
    return case


def sql_floor(size: int) -> float:
    """The same row writes as a ban, in bare SQL, rolled back."""
    start = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute(
            "UPDATE accounts_account SET enforcement = 'none', enforcement_changed_at = now() "
            "WHERE account_id LIKE 'bench_%%'"
        )
        cur.execute("CREATE TEMP TABLE floor_changes AS SELECT * FROM enforcement_enforcementchange WITH NO DATA")
        cur.execute(
            "INSERT INTO floor_changes (id, action_id, account_id, kind, before, after, account_seq, created_at, "
            "idempotency_key, delivery_state, attempts, last_error, next_attempt_at) "
            "SELECT g, 1, g, 'ban', 'none', 'banned', 1, now(), gen_random_uuid(), 'pending', 0, '', now() "
            "FROM generate_series(1, %s) g",
            [size],
        )
        elapsed = time.perf_counter() - start
        transaction.set_rollback(True)
    return elapsed


def http_floor(url: str, size: int) -> float:
    client = delivery.GatewayClient(url, secret="bench", timeout=10)
    payload = {"id": 0, "account_id": "bench_000000", "action": "ban", "action_id": 0, "sequence": 1}
    start = time.perf_counter()
    for i in range(size):
        error = client.post({**payload, "id": i}, f"key-{i}")
        assert not error, error
    client.close()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--accounts", type=int, default=1500)
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("Set DATABASE_URL to a PostgreSQL server: the figures are for the production database.")
    one, five, fifteen = os.getloadavg()
    log(f"load: {one:.2f} {five:.2f} {fifteen:.2f} (1/5/15 min), {os.cpu_count()} cores")
    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    try:
        analyst = User.objects.create_user("bench-analyst")
        analyst.groups.add(Group.objects.get(name="analyst"))
        lead = User.objects.create_user("bench-lead")
        lead.groups.add(Group.objects.get(name="lead"))
        # A web process finalises the Celery app (task registry) once, at its first ban; not part of a ban.
        from config.celery import app as celery_app

        assert celery_app.tasks  # finalises the app and imports the task modules
        case = build_case(args.accounts)
        log(f"case of {args.accounts} flagged accounts built; threshold {settings.ENFORCEMENT_APPROVAL_THRESHOLD}")

        start = time.perf_counter()
        action = services.action_request(actor=analyst, kind="ban", reason="bench", case=case, scope="flagged")
        log(f"request (stored for approval, {action.status}):     {time.perf_counter() - start:6.3f} s")
        start = time.perf_counter()
        action = services.action_approve(action_id=action.pk, actor=lead, comment="bench")
        applied = time.perf_counter() - start
        log(f"approve = apply ban to {action.changed_count} accounts:  {applied:6.3f} s")
        log(f"  floor, bare SQL UPDATE + INSERT of as many rows:  {sql_floor(args.accounts):6.3f} s")

        settings.ENFORCEMENT_WEBHOOK_URL = url
        settings.ENFORCEMENT_WEBHOOK_SECRET = "bench"
        start = time.perf_counter()
        runs = 0
        while EnforcementChange.objects.exclude(delivery_state="delivered").exists():
            delivery.deliver_due(budget_seconds=600)
            runs += 1
        took = time.perf_counter() - start
        rate = args.accounts / took
        log(f"deliver {args.accounts} changes (signed POST each):    {took:6.3f} s  ({rate:,.0f}/s, {runs} pass)")
        floor = http_floor(url, args.accounts)
        log(f"  floor, as many POSTs without the database:        {floor:6.3f} s  ({args.accounts / floor:,.0f}/s)")
    finally:
        server.shutdown()
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
