"""Ingest benchmark: the whole pipeline against a bare server-side COPY, same rows, same indexes.

    .venv/bin/python bench/ingest.py --events 2000000

1. Generates N events (plus account snapshots and alerts) as an NDJSON batch,
   and the same event rows as a TSV file for PostgreSQL (cached in bench/out/).
2. Bare COPY: `COPY … FROM 'file'` (server side) into a plain table with the
   columns and indexes of accounts_usageevent (primary key, unique event_id,
   (account_id, ts)). This is the physical limit the pipeline is compared to.
3. Pipeline: `manage.py ingest FILE --wait` with two Celery workers on Redis,
   on a fresh database: split, validate every line, binary COPY straight into the event table.
Prints events/s for both, their ratio, the CPU time each used (the comparison that holds when other
work loads the machine), and the peak RSS of each process.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import psutil
import psycopg

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
HEX = "0123456789abcdef"


def generate(n_events: int, n_accounts: int, ndjson: Path, tsv: Path) -> None:
    """Valid records, written fast: per-account prefixes are built once, per-event parts are cheap."""
    import random

    rng = random.Random(42)
    start_day = 1
    span = 14 * 86400
    prompts = [
        "Solve the following problem step by step and show all of your reasoning before the final answer.",
        "Write a Python function that parses an ISO 8601 timestamp and returns a datetime in UTC.",
        "Summarise this support ticket in two sentences for the on-call engineer.",
        "Translate the following paragraph into French, keeping the technical terms.",
    ]
    sha = ["".join(rng.choice(HEX) for _ in range(64)) for _ in range(50)]
    simhashes = ["".join(rng.choice(HEX) for _ in range(16)) for _ in range(500)]
    categories = ["chat", "coding", "agentic", "reasoning", "vision", "other"]
    with ndjson.open("w") as out, tsv.open("w") as tout:
        for a in range(n_accounts):
            out.write(
                f'{{"type":"account","account_id":"acct_{a:06d}","created_at":"2026-01-{1 + a % 28:02d}T08:00:00Z",'
                f'"email":"user{a}@example.org","tier":"build","verification":"email","country":"DE",'
                f'"payment_fingerprint":"pf_{a % 5000:05d}","signup_ip":"198.51.{a % 256}.{a // 256 % 256}"}}\n'
            )
        prefixes = []
        tprefix = []
        for a in range(n_accounts):
            ip = f"203.0.{a % 256}.{(a * 7) % 256}"
            net = f'"api_key_id":"key_{a:06d}","ip":"{ip}","asn":{64500 + a % 50}'
            prefixes.append((f'"account_id":"acct_{a:06d}"', net))
            tprefix.append((str(a + 1), f"key_{a:06d}\t{ip}\t{64500 + a % 50}"))
        buf: list[str] = []
        tbuf: list[str] = []
        for i in range(n_events):
            a = (i * 7919) % n_accounts
            s = (i * span) // n_events
            day, rem = divmod(s, 86400)
            hh, rem = divmod(rem, 3600)
            mm, ss = divmod(rem, 60)
            ts = f"2026-02-{start_day + day:02d}T{hh:02d}:{mm:02d}:{ss:02d}.{i % 1000:03d}Z"
            cat = categories[i % 6]
            cot = "true" if i % 3 == 0 else "false"
            sp = sha[i % 50]
            sh = simhashes[i % 500]
            prompt = prompts[i % 4]
            tin, tout_ = 200 + i % 1800, 300 + i % 2900
            acc, net = prefixes[a]
            buf.append(
                f'{{"type":"event","event_id":"req_{i:010d}",{acc},"ts":"{ts}",{net},'
                f'"user_agent":"python-httpx/0.27.2","ja4":"t13d1516h2_8daaf6152771_02713d6af862",'
                f'"model":"frontier-large","input_tokens":{tin},"output_tokens":{tout_},"category":"{cat}",'
                f'"cot_requested":{cot},"system_prompt_sha256":"{sp}","prompt_simhash":"{sh}",'
                f'"prompt_excerpt":"{prompt}"}}\n'
            )
            signed = int(sh, 16)
            signed = signed - (1 << 64) if signed >= 1 << 63 else signed
            aid, tnet = tprefix[a]
            tbuf.append(
                f"req_{i:010d}\t{aid}\t{ts}\t{tnet}\tpython-httpx/0.27.2\tt13d1516h2_8daaf6152771_02713d6af862\t"
                f"frontier-large\t{tin}\t{tout_}\t{cat}\t{'t' if cot == 'true' else 'f'}\t{sp}\t\t{signed}\t{prompt}\n"
            )
            if len(buf) >= 20000:
                out.write("".join(buf))
                tout.write("".join(tbuf))
                buf.clear()
                tbuf.clear()
        out.write("".join(buf))
        tout.write("".join(tbuf))
        for a in range(0, n_accounts, 10):
            out.write(
                f'{{"type":"alert","alert_id":"al_{a:06d}","account_id":"acct_{a:06d}","detector":"volume-anomaly",'
                f'"score":0.8,"raised_at":"2026-02-10T00:00:00Z","severity":"high"}}\n'
            )
    os.chmod(tsv, 0o644)


TSV_COLUMNS = (
    "event_id, account_id, ts, api_key_id, ip, asn, user_agent, ja4, model, input_tokens, output_tokens, "
    "category, cot_requested, system_prompt_sha256, tools_sha256, prompt_simhash, prompt_excerpt"
)


def with_db(url: str, name: str) -> str:
    parts = urlparse(url)
    return urlunparse(parts._replace(path=f"/{name}"))


def recreate_database(admin_url: str, name: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def backend_cpu(pid: int) -> float | None:
    """CPU seconds (user + system) of a local PostgreSQL backend so far; None if it is not visible here."""
    try:
        return sum(psutil.Process(pid).cpu_times()[:2])
    except psutil.Error:
        return None


def bare_copy(db_url: str, tsv: Path) -> tuple[float, float | None]:
    """Seconds for a server-side COPY of the TSV into a plain table with the event table's indexes,
    and the CPU seconds its backend used (load-independent, unlike the seconds)."""
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS bench_bare_events")
        conn.execute("CREATE TABLE bench_bare_events (LIKE accounts_usageevent INCLUDING DEFAULTS INCLUDING IDENTITY)")
        conn.execute("ALTER TABLE bench_bare_events ADD PRIMARY KEY (id)")
        conn.execute("CREATE UNIQUE INDEX ON bench_bare_events (event_id)")
        conn.execute("CREATE INDEX ON bench_bare_events (account_id, ts)")
        conn.execute("CHECKPOINT")
        pid = conn.info.backend_pid
        cpu_before = backend_cpu(pid)
        started = time.perf_counter()
        conn.execute(f"COPY bench_bare_events ({TSV_COLUMNS}) FROM '{tsv}'")
        elapsed = time.perf_counter() - started
        cpu_after = backend_cpu(pid)
        conn.execute("DROP TABLE bench_bare_events")
        conn.execute("CHECKPOINT")
    cpu = cpu_after - cpu_before if cpu_before is not None and cpu_after is not None else None
    return elapsed, cpu


class PeakRss:
    """Samples the RSS of the given processes and their children every 100 ms, and the CPU time of
    those processes and of the database's backends (each task opens its own connection)."""

    def __init__(self, db_url: str | None = None) -> None:
        self.roots: dict[str, psutil.Process] = {}
        self.peaks: dict[str, int] = {}
        self.cpu: dict[str, float] = {}  # process -> CPU seconds at its last sample
        self.backend_cpu: dict[int, float] = {}
        self._db_url = db_url
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def watch(self, label: str, pid: int) -> None:
        self.roots[label] = psutil.Process(pid)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        conn = psycopg.connect(self._db_url, autocommit=True) if self._db_url else None
        while not self._stop.is_set():
            for label, proc in list(self.roots.items()):
                try:
                    procs = [("", proc), *((f" child {c.pid}", c) for c in proc.children(recursive=True))]
                    for suffix, p in procs:
                        key = label + (suffix or " main")
                        self.peaks[key] = max(self.peaks.get(key, 0), p.memory_info().rss)
                        self.cpu[key] = sum(p.cpu_times()[:2])
                except psutil.Error:
                    pass
            if conn is not None:
                pids = conn.execute(
                    "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
                ).fetchall()
                for (pid,) in pids:
                    if (cpu := backend_cpu(pid)) is not None:
                        self.backend_cpu[pid] = cpu
            time.sleep(0.1)
        if conn is not None:
            conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=2_000_000)
    parser.add_argument("--accounts", type=int, default=24_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--chunk-lines", type=int, default=None, help="default: INGEST_CHUNK_LINES")
    parser.add_argument("--database", default="hydra_a_bench", help="scratch database, dropped and re-created")
    parser.add_argument("--server", default=os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432/postgres"))
    parser.add_argument("--broker", default=os.environ.get("CELERY_BROKER_URL", "redis://127.0.0.1:6379/1"))
    parser.add_argument("--skip-copy", action="store_true", help="only run the pipeline")
    args = parser.parse_args()

    OUT.mkdir(parents=True, exist_ok=True)
    accounts = min(args.accounts, max(10, args.events // 50))
    ndjson = OUT / f"events-{args.events}-{accounts}.ndjson"
    tsv = Path("/tmp") / f"hydra-bench-events-{args.events}-{accounts}.tsv"
    if not ndjson.exists() or not tsv.exists():
        t = time.perf_counter()
        generate(args.events, accounts, ndjson, tsv)
        print(f"generated {args.events:,} events, {accounts:,} accounts in {time.perf_counter() - t:.1f}s: {ndjson}")
    print(f"batch file: {ndjson.stat().st_size / 1e9:.2f} GB; load: {os.getloadavg()}")

    db_url = with_db(args.server, args.database)
    recreate_database(args.server, args.database)
    var = OUT / "var"
    env = dict(
        os.environ,
        DATABASE_URL=db_url,
        CELERY_BROKER_URL=args.broker,
        SECRET_KEY="bench",
        HYDRA_VAR_DIR=str(var),
        MEDIA_ROOT=str(var / "media"),
        LOG_LEVEL="WARNING",
    )
    if args.chunk_lines:
        env["INGEST_CHUNK_LINES"] = str(args.chunk_lines)
    python = sys.executable
    subprocess.run([python, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)

    copy_seconds = copy_cpu = None
    if not args.skip_copy:
        copy_seconds, copy_cpu = bare_copy(db_url, tsv)

    subprocess.run([python, "-m", "celery", "-A", "config", "purge", "-f", "-Q", "ingest"], cwd=ROOT, env=env,
                   check=True, stdout=subprocess.DEVNULL)  # fmt: skip
    rss = PeakRss(db_url)
    workers = []
    for n in range(args.workers):
        cmd = [python, "-m", "celery", "-A", "config", "worker", "-Q", "ingest", "-c", "1", "-n", f"bench{n}@%h",
               "-l", "warning", "--without-gossip", "--without-mingle", "--without-heartbeat"]  # fmt: skip
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, start_new_session=True)
        workers.append(proc)
        rss.watch(f"worker {n}", proc.pid)
    time.sleep(4)  # workers ready
    rss.start()
    try:
        started = time.perf_counter()
        cli = subprocess.Popen(
            [python, "manage.py", "ingest", str(ndjson), "--no-copy", "--wait", "--json"],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        rss.watch("ingest command", cli.pid)
        out, _ = cli.communicate()
        pipeline_seconds = time.perf_counter() - started
    finally:
        rss.stop()
        for proc in workers:
            os.killpg(proc.pid, 15)
        for proc in workers:
            proc.wait(timeout=30)
    summary = json.loads(out.splitlines()[-1])
    with psycopg.connect(db_url) as conn:
        stored = conn.execute("SELECT count(*) FROM accounts_usageevent").fetchone()[0]
        spans = conn.execute(
            "SELECT extract(epoch FROM finished_at - created_at), chunks_total FROM ingest_batch WHERE id = %s",
            [summary["batch"]],
        ).fetchone()
    print(f"pipeline: {json.dumps(summary)}")
    assert summary["status"] == "done" and stored == args.events, (summary, stored)
    batch_seconds = float(spans[0])
    pipe_rate = args.events / batch_seconds
    print(f"uptime: {subprocess.run(['uptime'], capture_output=True, text=True).stdout.strip()}")
    print(f"pipeline : {args.events:>12,} events in {batch_seconds:7.1f}s = {pipe_rate:>10,.0f} events/s "
          f"(batch created -> finished; {spans[1]} chunks, {args.workers} workers)")  # fmt: skip
    print(f"           {args.events:>12,} events in {pipeline_seconds:7.1f}s = {args.events / pipeline_seconds:>10,.0f}"
          " events/s (wall clock of `manage.py ingest --wait`, including its start-up)")  # fmt: skip
    if copy_seconds:
        copy_rate = args.events / copy_seconds
        print(f"bare COPY: {args.events:>12,} events in {copy_seconds:7.1f}s = {copy_rate:>10,.0f} events/s")
        print(f"ratio pipeline / bare COPY = {pipe_rate / copy_rate:.2f} "
              f"(wall clock: {args.events / pipeline_seconds / copy_rate:.2f})")  # fmt: skip
    # CPU seconds do not depend on what else runs on the machine: the fair comparison on a shared one.
    # Backends are sampled every 100 ms, so the last instant of each task's backend is missed.
    python_cpu, db_cpu = sum(rss.cpu.values()), sum(rss.backend_cpu.values())
    print(f"CPU time : pipeline {python_cpu + db_cpu:7.1f} core-s = Python {python_cpu:.1f} + database {db_cpu:.1f} "
          f"({(python_cpu + db_cpu) / args.events * 1e6:.1f} us/event)")  # fmt: skip
    if copy_cpu:
        print(f"           bare COPY {copy_cpu:6.1f} core-s ({copy_cpu / args.events * 1e6:.1f} us/event); "
              f"pipeline / bare COPY CPU = {(python_cpu + db_cpu) / copy_cpu:.2f}")  # fmt: skip
    print("peak RSS and CPU time per process:")
    for label, peak in sorted(rss.peaks.items()):
        print(f"  {label:<28} {peak / 2**20:8.0f} MiB {rss.cpu.get(label, 0):8.1f} core-s")


if __name__ == "__main__":
    main()
