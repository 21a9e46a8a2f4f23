#!/usr/bin/env python3
"""Webhook acknowledgement: the product's full stack against a minimal durable-ingest app.

    .venv/bin/python benchmarks/webhook_ack.py [--duration 10] [--connections 16]
        [--threads 2] [--warmup 2] [--workers N] [--only product|minimal] [--rounds 1]

Both apps run under gunicorn with the product's production server configuration
(`platform/gunicorn_conf.py`: same worker class, worker and thread counts; `--workers` sets
WEB_CONCURRENCY for both) and `DJANGO_DEBUG=false`, against the same PostgreSQL:

- minimal (benchmarks/minimal_ingest/): one view, HMAC-SHA256 over the raw body with the app
  secret, one INSERT, 200; no apps, no middleware;
- product: `saas_platform.wsgi`, every middleware, `POST /webhooks/whatsapp/` on the public host.

Load comes from `wrk` (Debian package `wrk`; installed with apt-get when missing and run as
root) with a Lua script that cycles pre-signed unique bodies: each a valid Meta `messages` change
for a number connected to the benchmark's organization, so every POST is a new event. Each app
gets a warm-up, then `--duration` seconds measured (`--rounds N` alternates the two apps N
times and reports the median run of each: on a shared machine the load drifts). Printed per
app: requests/s, p50/p99/max latency, server and database CPU-ms per request, rows stored; then
the ratio product/minimal and issue 9's targets (ratio >= 0.8, product p99 < 100 ms).

Needs PostgreSQL + Redis (`make services`). Runs in its own database (`<dev db>_bench_ack`,
created and migrated on first use) and Redis database 13 (`BENCH_ACK_BROKER_URL`), emptied after
each run, so it never mixes with `make run` or the tests.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from cryptography.fernet import Fernet
from gunicorn_server import free_port, gunicorn_start  # benchmarks/, beside this script

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = ROOT / "benchmarks"
PYTHON = sys.executable
DEV_DATABASE_URL = "postgres://postgres@127.0.0.1:54329/saas_platform"
BROKER_URL = os.environ.get("BENCH_ACK_BROKER_URL", "redis://127.0.0.1:63790/13")
PHONE_NUMBER_ID = "930000000000001"
WABA_ID = "930000000000002"
# Production mode refuses the development secrets: the servers get throwaway ones of their own.
APP_SECRET = secrets.token_hex(16)
SERVER_SECRETS = {
    "DJANGO_DEBUG": "false",
    "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
    "TOKEN_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
    "WHATSAPP_APP_SECRET": APP_SECRET,
    "WHATSAPP_VERIFY_TOKEN": secrets.token_urlsafe(16),
    "LOG_LEVEL": "WARNING",
}

LUA = r"""
-- Cycles this thread's share of pre-signed bodies (file lines: "<signature>\t<body>").
local counter = 0
function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
end
function init(args)
  local nthreads = tonumber(os.getenv("BENCH_THREADS"))
  local host = os.getenv("BENCH_HOST")
  reqs = {}
  local i = 0
  for line in io.lines(os.getenv("BENCH_BODIES")) do
    if i % nthreads == id then
      local sig, body = line:match("^(%S+)\t(.*)$")
      reqs[#reqs + 1] = wrk.format("POST", nil, {
        ["Host"] = host,
        ["Content-Type"] = "application/json",
        ["X-Hub-Signature-256"] = sig,
      }, body)
    end
    i = i + 1
  end
  n = 0
end
function request()
  n = n % #reqs + 1
  return reqs[n]
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests":%d,"duration_us":%d,"status_errors":%d,"socket_errors":%d,' ..
    '"p50_us":%d,"p99_us":%d,"max_us":%d}\n',
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max))
end
"""


@dataclass(frozen=True)
class Result:
    name: str
    requests: int
    seconds: float
    status_errors: int
    socket_errors: int
    p50_ms: float
    p99_ms: float
    max_ms: float
    cpu_ms_per_request: float | None
    db_cpu_ms_per_request: float | None
    stored: int | None

    @property
    def rps(self) -> float:
        return self.requests / self.seconds


# --- Environment -----------------------------------------------------------------------------
def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print("wrk is missing: apt-get install -y wrk", flush=True)
        subprocess.run(["apt-get", "update", "-qq"], check=False)
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True)
        found = shutil.which("wrk")
    if not found:
        raise SystemExit(
            "wrk is required: `sudo apt-get install -y wrk` (Debian/Ubuntu) or `brew install wrk`"
        )
    return found


def bench_database_url(args: argparse.Namespace) -> str:
    if args.database_url:
        return args.database_url
    base = os.environ.get("DATABASE_URL", DEV_DATABASE_URL)
    head, _, name = base.rpartition("/")
    return f"{head}/{name}_bench_ack"


def ensure_database(url: str) -> None:
    """Create the benchmark's database if absent, and migrate every schema."""
    import psycopg

    head, _, name = url.rpartition("/")
    with psycopg.connect(f"{head}/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
    env = {**os.environ, "DATABASE_URL": url, "LOG_LEVEL": "WARNING"}
    subprocess.run(
        [PYTHON, "manage.py", "migrate_platform"],
        cwd=ROOT,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )


def setup_django(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ["CELERY_BROKER_URL"] = BROKER_URL
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saas_platform.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def ensure_connected_number() -> None:
    from django.db import connection

    from tenants.models import Organization, PhoneNumber
    from tenants.services.onboarding import organization_create, public_tenant_ensure
    from tenants.services.routing import phone_number_connect

    public_tenant_ensure()
    organization = Organization.objects.filter(slug="bench-ack").first()
    if organization is None:
        organization = organization_create(
            slug="bench-ack",
            name="Bench ack",
            admin_email="admin@bench-ack.test",
            admin_password="bench-ack-password-123",
        )
        connection.set_schema_to_public()
    if not PhoneNumber.objects.filter(phone_number_id=PHONE_NUMBER_ID).exists():
        phone_number_connect(
            organization=organization,
            phone_number_id=PHONE_NUMBER_ID,
            waba_id=WABA_ID,
            display_number="+1 555 930 0001",
            access_token="EAAbench-ack-token",
        )
    from minimal_ingest.views import TABLE_SQL

    with connection.cursor() as cursor:
        cursor.execute(TABLE_SQL)


def stored_rows(name: str) -> int | None:
    """Rows the app has stored (the product's raw events; the minimal app's table)."""
    from django.db import connection

    table = "bench_minimal_ingest" if name == "minimal" else "tenants_rawwebhookevent"
    try:
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT count(*) FROM public.{table}")  # noqa: S608 - fixed names
            return cursor.fetchone()[0]
    except Exception:
        return None  # the product's storage moved: count not available


def empty_stores() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE bench_minimal_ingest")
        cursor.execute("SELECT to_regclass('public.tenants_rawwebhookevent')")
        if cursor.fetchone()[0]:
            cursor.execute("TRUNCATE public.tenants_rawwebhookevent CASCADE")
    import redis

    redis.Redis.from_url(BROKER_URL).flushdb()


# --- Load ------------------------------------------------------------------------------------
def write_bodies(path: Path, count: int) -> None:
    """`count` unique signed bodies: one inbound text message each, Meta's `messages` shape."""
    run = uuid.uuid4().hex[:12]
    now = str(int(time.time()))
    key = APP_SECRET.encode()
    with path.open("w") as out:
        for n in range(count):
            sender = f"5511{n % 100000:09d}"
            payload = {
                "object": "whatsapp_business_account",
                "entry": [
                    {
                        "id": WABA_ID,
                        "changes": [
                            {
                                "field": "messages",
                                "value": {
                                    "messaging_product": "whatsapp",
                                    "metadata": {
                                        "display_phone_number": "15559300001",
                                        "phone_number_id": PHONE_NUMBER_ID,
                                    },
                                    "contacts": [
                                        {"profile": {"name": f"Customer {n}"}, "wa_id": sender}
                                    ],
                                    "messages": [
                                        {
                                            "from": sender,
                                            "id": f"wamid.bench{run}{n:08d}",
                                            "timestamp": now,
                                            "type": "text",
                                            "text": {"body": f"benchmark message {n}"},
                                        }
                                    ],
                                },
                            }
                        ],
                    }
                ],
            }
            body = json.dumps(payload, separators=(",", ":")).encode()
            signature = "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()
            out.write(f"{signature}\t{body.decode()}\n")


def run_wrk(
    wrk: str, url: str, host: str, bodies: Path, args: argparse.Namespace, seconds: float
) -> dict:
    lua = bodies.with_suffix(".lua")
    lua.write_text(LUA)
    env = {
        **os.environ,
        "BENCH_BODIES": str(bodies),
        "BENCH_HOST": host,
        "BENCH_THREADS": str(args.threads),
    }
    command = [
        wrk,
        f"-t{args.threads}",
        f"-c{args.connections}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "10s",
        "-s",
        str(lua),
        url,
    ]
    output = subprocess.run(command, env=env, capture_output=True, text=True, check=True).stdout
    line = next(x for x in output.splitlines() if x.startswith("BENCH_RESULT "))
    return json.loads(line.removeprefix("BENCH_RESULT "))


# --- Servers ---------------------------------------------------------------------------------
def start_server(name: str, port: int, database_url: str, workers: int | None):
    env = {
        **os.environ,
        **SERVER_SECRETS,
        "PORT": str(port),
        "DATABASE_URL": database_url,
        "CELERY_BROKER_URL": BROKER_URL,
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(BENCH_DIR)]),
    }
    if workers:
        env["WEB_CONCURRENCY"] = str(workers)
    if name == "minimal":
        env["DJANGO_SETTINGS_MODULE"] = "minimal_ingest.settings"
        app = "minimal_ingest.wsgi:application"
    else:
        env["DJANGO_SETTINGS_MODULE"] = "saas_platform.settings"
        app = "saas_platform.wsgi:application"
    return gunicorn_start(app, env=env, port=port, name=name)


def stop_server(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def server_cpu_seconds(process: subprocess.Popen) -> float | None:
    """User + system CPU of the gunicorn master and its workers so far (None without psutil)."""
    try:
        import psutil
    except ImportError:
        return None
    master = psutil.Process(process.pid)
    total = 0.0
    for proc in [master, *master.children(recursive=True)]:
        try:
            times = proc.cpu_times()
            total += times.user + times.system
        except psutil.NoSuchProcess:
            pass
    return total


def database_cpu_seconds(database_url: str) -> dict[int, float]:
    """User + system CPU of each PostgreSQL backend serving the benchmark's database, by pid.

    The apps' persistent connections live through a run, so a difference of two readings is
    the database's share of the work (a backend that started meanwhile counts from zero).
    Background processes (WAL writer, checkpointer) are shared with other databases: left out.
    """
    try:
        import psutil
    except ImportError:
        return {}
    marker = f" {database_url.rpartition('/')[2]} "
    found: dict[int, float] = {}
    for proc in psutil.process_iter(["name", "cmdline"]):
        try:
            title = " ".join(proc.info["cmdline"] or [])
            if proc.info["name"] == "postgres" and marker in title:
                times = proc.cpu_times()
                found[proc.pid] = times.user + times.system
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            pass
    return found


def measure(name: str, wrk: str, database_url: str, args: argparse.Namespace) -> Result:
    port = free_port()
    host = "localhost" if name == "product" else "127.0.0.1"
    url = f"http://127.0.0.1:{port}/webhooks/whatsapp/"
    empty_stores()
    process = start_server(name, port, database_url, args.workers)
    try:
        with tempfile.TemporaryDirectory(prefix="bench-ack-") as tmp:
            warm = Path(tmp) / "warm.txt"
            write_bodies(warm, max(2000, int(args.warmup * args.max_rate)))
            if args.warmup > 0:
                run_wrk(wrk, url, host, warm, args, args.warmup)
            stored_before = stored_rows(name)
            bodies = Path(tmp) / "bodies.txt"
            body_count = int(args.duration * args.max_rate)
            write_bodies(bodies, body_count)
            cpu_before = server_cpu_seconds(process)
            db_before = database_cpu_seconds(database_url)
            raw = run_wrk(wrk, url, host, bodies, args, args.duration)
            cpu_after = server_cpu_seconds(process)
            db_after = database_cpu_seconds(database_url)
    finally:
        stop_server(process)
    if raw["requests"] > body_count:
        print(f"  note: {name} cycled its {body_count} bodies (raise --max-rate)")
    stored_after = stored_rows(name)
    stored = None if stored_before is None or stored_after is None else stored_after - stored_before
    cpu = None
    if cpu_before is not None and cpu_after is not None and raw["requests"]:
        cpu = (cpu_after - cpu_before) * 1000 / raw["requests"]
    db_cpu = None
    if db_after and raw["requests"]:
        spent = sum(seconds - db_before.get(pid, 0.0) for pid, seconds in db_after.items())
        db_cpu = spent * 1000 / raw["requests"]
    return Result(
        name=name,
        requests=raw["requests"],
        seconds=raw["duration_us"] / 1e6,
        status_errors=raw["status_errors"],
        socket_errors=raw["socket_errors"],
        p50_ms=raw["p50_us"] / 1000,
        p99_ms=raw["p99_us"] / 1000,
        max_ms=raw["max_us"] / 1000,
        cpu_ms_per_request=cpu,
        db_cpu_ms_per_request=db_cpu,
        stored=stored,
    )


def median_result(found: list[Result]) -> Result:
    """The run with the median rate (its own latencies and CPU: figures of one real run)."""
    return sorted(found, key=lambda r: r.rps)[len(found) // 2]


def print_result(result: Result) -> None:
    cpu = "n/a" if result.cpu_ms_per_request is None else f"{result.cpu_ms_per_request:.2f}"
    db = "n/a" if result.db_cpu_ms_per_request is None else f"{result.db_cpu_ms_per_request:.2f}"
    stored = "n/a" if result.stored is None else str(result.stored)
    print(
        f"  {result.name:8} {result.rps:9.0f} req/s   p50 {result.p50_ms:7.2f} ms   "
        f"p99 {result.p99_ms:7.2f} ms   max {result.max_ms:7.1f} ms   "
        f"server CPU {cpu} ms/req   database CPU {db} ms/req   "
        f"requests {result.requests}   stored {stored}   "
        f"non-2xx {result.status_errors}   socket errors {result.socket_errors}",
        flush=True,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=10.0, help="measured seconds per app")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds of warm-up per app")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--workers", type=int, default=None, help="WEB_CONCURRENCY for both")
    parser.add_argument(
        "--max-rate", type=float, default=4000, help="unique bodies per second of load"
    )
    parser.add_argument("--only", choices=["product", "minimal"], default=None)
    parser.add_argument(
        "--rounds", type=int, default=1, help="alternate the apps N times; report medians"
    )
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()

    wrk = ensure_wrk()
    database_url = bench_database_url(args)
    sys.path.insert(0, str(BENCH_DIR))
    ensure_database(database_url)
    setup_django(database_url)
    ensure_connected_number()

    import saas_platform.gunicorn_conf as conf

    workers = args.workers or conf.workers
    print(
        f"gunicorn {conf.worker_class}, {workers} workers x {conf.threads} threads; wrk "
        f"{args.threads} threads, {args.connections} connections, {args.duration:g} s each",
        flush=True,
    )
    runs: dict[str, list[Result]] = {"minimal": [], "product": []}
    for _round in range(args.rounds):
        for name in ("minimal", "product"):
            if args.only in (None, name):
                runs[name].append(measure(name, wrk, database_url, args))
                print_result(runs[name][-1])
    empty_stores()
    results = {name: median_result(found) for name, found in runs.items() if found}
    if args.rounds > 1:
        print(f"  medians of {args.rounds} alternating rounds:")
        for result in results.values():
            print_result(result)
    if len(results) == 2:
        product, minimal = results["product"], results["minimal"]
        ratio = product.rps / minimal.rps if minimal.rps else 0.0
        print(f"  ratio product/minimal: {ratio:.2f}  (target >= 0.8)")
        print(f"  product p99: {product.p99_ms:.1f} ms  (target < 100 ms)")
        met = ratio >= 0.8 and product.p99_ms < 100
        print(f"  targets: {'met' if met else 'NOT met'}")
    bad = [r.name for found in runs.values() for r in found if r.status_errors or r.socket_errors]
    if bad:
        print(f"  errors in: {', '.join(bad)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
