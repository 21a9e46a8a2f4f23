#!/usr/bin/env python3
"""Chaos proof: nothing is lost or duplicated when processes and servers die mid-work.

    .venv/bin/python benchmarks/chaos.py [--inbound 300] [--outbound 100] [--duration 30]
        [--customers 10] [--json]

Everything runs on loopback, with its OWN PostgreSQL and Redis (started by this script through
deploy/devstack.py on free ports, data in a temporary directory, removed at the end), never the
shared development servers:

- the sandbox (the Meta simulator, in this process), which posts customer messages and delivery
  receipts as signed webhooks and redelivers any answered with non-200, as Meta does;
- a small round-robin HTTP proxy (in this process) in front of 2 gunicorn web processes
  (`platform/gunicorn_conf.py`, production settings), failing over like a load balancer;
- 1 webhook worker (`manage.py webhook_worker`), Celery workers: `outbound`, and `inbound` +
  `media` + default (thread pools, so a kill -9 ends the whole worker).

First every customer writes once (their 24-hour windows open). Then, for `--duration` seconds,
the sandbox posts `--inbound` customer messages and this process creates `--outbound` outgoing
messages (ORM + the post_save signal, like the API) while the script, in order: kill -9 the
webhook worker (mid-batch) and restarts it, kill -9 the outbound worker mid-send and restarts
it, restarts Redis, restarts PostgreSQL (webhooks answer 503 meanwhile; the sandbox's
redelivery brings them in), SIGTERMs a web process and starts it again. Then it drains: the
outbound sweeper (what beat runs every minute, here every 2 s with
WHATSAPP_SEND_REQUEUE_AFTER=3) re-drives sends whose Celery message died with Redis.

Prints: deliveries posted (and attempts, non-200 answers, given up), messages stored,
duplicates, lost, sends exactly once (duplicated, never sent), max ingest lag (webhook
acknowledged -> change applied; and first delivery attempt -> message stored). Exit status 0
only with 0 lost and 0 duplicated, inbound and outbound. tests/chaos/ runs a small budget.
"""

from __future__ import annotations

import argparse
import http.client
import importlib.util
import itertools
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from gunicorn_server import (  # benchmarks/, beside this script
    free_port,
    gunicorn_start,
    processes_stop,
)

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

ORGS = ("chaos-a", "chaos-b")
SCHEMAS: dict[str, str] = {}  # slug -> schema, filled by setup_orgs
NUMBERS = {"chaos-a": "710000000000001", "chaos-b": "720000000000002"}
TOKEN = "EAAchaos-token-0001"


def say(message: str) -> None:
    print(f"[chaos {time.strftime('%H:%M:%S')}] {message}", flush=True)


# --- Private PostgreSQL and Redis (deploy/devstack.py, on our own ports and data dir) -----------
def load_devstack(data: Path, pg_port: int, redis_port: int):
    os.environ.update(
        DEVSTACK_DATA_DIR=str(data),
        DEVSTACK_PG_PORT=str(pg_port),
        DEVSTACK_REDIS_PORT=str(redis_port),
    )
    spec = importlib.util.spec_from_file_location("chaos_devstack", ROOT / "deploy/devstack.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert (pg_port, data) == (module.PG_PORT, module.DATA)  # never the shared servers
    return module


# --- Round-robin proxy --------------------------------------------------------------------------
class Proxy:
    """HTTP/1.1 round robin over backends; a backend that refuses or drops the connection is
    skipped for that request (a load balancer's failover). 502 when none answers."""

    def __init__(self, backends: list[int]) -> None:
        self.backends = backends
        self._next = itertools.cycle(range(len(backends)))
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                proxy.forward(self)

            do_GET = do_POST

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def forward(self, handler: BaseHTTPRequestHandler) -> None:
        body = handler.rfile.read(int(handler.headers.get("Content-Length") or 0))
        headers = {k: v for k, v in handler.headers.items() if k.lower() != "connection"}
        with self._lock:
            start = next(self._next)
        status, payload, content_type = 502, b"no backend", "text/plain"
        for offset in range(len(self.backends)):
            port = self.backends[(start + offset) % len(self.backends)]
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
            try:
                connection.request(handler.command, handler.path, body=body, headers=headers)
                response = connection.getresponse()
                status, payload = response.status, response.read()
                content_type = response.getheader("Content-Type", "text/plain")
                break
            except (OSError, http.client.HTTPException):
                continue
            finally:
                connection.close()
        try:
            handler.send_response(status)
            handler.send_header("Content-Type", content_type)
            handler.send_header("Content-Length", str(len(payload)))
            handler.end_headers()
            handler.wfile.write(payload)
        except OSError:  # the sender gave up waiting (it redelivers)
            handler.close_connection = True

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# --- Processes ----------------------------------------------------------------------------------
class Fleet:
    def __init__(self, env: dict[str, str], logs: Path, web_ports: list[int]) -> None:
        self.env, self.logs, self.web_ports = env, logs, web_ports
        self.web: dict[int, subprocess.Popen] = {}
        self.workers: dict[str, subprocess.Popen] = {}

    def start_web(self, port: int) -> None:
        env = {**self.env, "PORT": str(port), "WEB_CONCURRENCY": "1", "WEB_THREADS": "4"}
        self.web[port] = gunicorn_start(
            "saas_platform.wsgi:application",
            env=env,
            port=port,
            name=f"web:{port}",
            log=self.logs / f"web-{port}.log",
        )

    def start_worker(self, name: str) -> None:
        commands = {
            "webhook": [sys.executable, "manage.py", "webhook_worker"],
            "outbound": self._celery("outbound", "outbound"),
            "inbound": self._celery("inbound", "celery,inbound,media"),
        }
        log = (self.logs / f"{name}.log").open("a")
        self.workers[name] = subprocess.Popen(
            commands[name], cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT
        )

    @staticmethod
    def _celery(name: str, queues: str) -> list[str]:
        return [
            sys.executable, "-m", "celery", "-A", "saas_platform.celery", "worker",
            "-Q", queues, "-n", f"{name}@chaos", "-P", "threads", "-c", "4",
            "--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "WARNING",
        ]  # fmt: skip

    def kill9(self, name: str) -> None:
        self.workers[name].send_signal(signal.SIGKILL)
        self.workers[name].wait()

    def stop(self) -> None:
        processes_stop([*self.web.values(), *self.workers.values()])


# --- The run ------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--inbound", type=int, default=300)
    parser.add_argument("--outbound", type=int, default=100)
    parser.add_argument("--customers", type=int, default=10, help="per organization")
    parser.add_argument("--duration", type=float, default=30.0, help="seconds of traffic")
    parser.add_argument("--drain", type=float, default=60.0, help="max seconds to settle")
    parser.add_argument("--json", action="store_true", help="also print the result as JSON")
    parser.add_argument("--keep", action="store_true", help="keep the data dir and process logs")
    args = parser.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="saas-chaos-"))
    os.chmod(work, 0o755)  # noqa: S103 - PostgreSQL runs as another user and must reach it
    pg_port, redis_port, sandbox_port = free_port(), free_port(), free_port()
    web_ports = [free_port(), free_port()]
    devstack = load_devstack(work, pg_port, redis_port)
    from cryptography.fernet import Fernet

    app_secret = secrets.token_hex(16)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "saas_platform.settings",
        # Plans meter but do not refuse: the run is about crashes, not the free trial's quota.
        "BILLING_ENFORCEMENT": "false",
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "TOKEN_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "WHATSAPP_APP_SECRET": app_secret,
        "WHATSAPP_VERIFY_TOKEN": secrets.token_urlsafe(16),
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:{pg_port}/saas_platform",
        "CELERY_BROKER_URL": f"redis://127.0.0.1:{redis_port}/0",
        "REDIS_URL": f"redis://127.0.0.1:{redis_port}/1",
        "WHATSAPP_GRAPH_URL": f"http://127.0.0.1:{sandbox_port}",
        "WHATSAPP_SEND_REQUEUE_AFTER": "3",
        "WHATSAPP_WEBHOOK_POLL_SECONDS": "0.2",
        "WHATSAPP_SEND_RETRY_BASE_DELAY": "0.2",
        "WHATSAPP_SEND_RETRY_MAX_DELAY": "2",
        "MEDIA_ROOT": str(work / "media"),
        "LOG_LEVEL": "WARNING",
        "LOG_FORMAT": "json",
    }
    os.environ.update(env)
    fleet: Fleet | None = None
    proxy: Proxy | None = None
    sandbox = None
    try:
        say(f"private PostgreSQL :{pg_port} and Redis :{redis_port} in {work}")
        devstack.postgres_up()
        devstack.redis_up()
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate_platform", verbosity=0)
        targets = setup_orgs()
        say("migrated, 2 organizations with their numbers")

        from whatsapp.sandbox import SandboxClient, SandboxConfig, SandboxServer

        proxy = Proxy(web_ports)
        sandbox = SandboxServer(
            SandboxConfig(
                port=sandbox_port,
                app_secret=app_secret,
                webhook_url=f"http://127.0.0.1:{proxy.port}/webhooks/whatsapp/",
                webhook_max_attempts=12,
                webhook_workers=8,
                auto_status=True,
                quiet=True,
            )
        ).start()
        client = SandboxClient(sandbox.url)
        for number in NUMBERS.values():
            client.register_phone_number(number, messages_per_second=80)
        fleet = Fleet(env, work, web_ports)
        for port in web_ports:
            fleet.start_web(port)
        for name in ("webhook", "outbound", "inbound"):
            fleet.start_worker(name)
        say("fleet up: 2 web + proxy, webhook worker, outbound and inbound/media workers")
        result = scenario(args, client, fleet, devstack, targets)
    finally:
        if fleet is not None:
            fleet.stop()
        if proxy is not None:
            proxy.stop()
        if sandbox is not None:
            sandbox.stop()
        try:
            from django.db import connections

            connections.close_all()
        except Exception:  # noqa: S110 - best effort before stopping the server
            pass
        devstack.redis_down()
        devstack.postgres_down()
        if args.keep:
            say(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    report(result, as_json=args.json)
    ok = not (
        result["inbound_lost"]
        or result["inbound_duplicates"]
        or result["sends_duplicated"]
        or result["sends_lost"]
    )
    return 0 if ok else 1


def setup_orgs() -> dict[str, tuple[object, str]]:
    from django.db import connection

    from tenants.services.onboarding import organization_create, public_tenant_ensure
    from tenants.services.routing import phone_number_connect

    public_tenant_ensure()
    targets = {}
    for slug in ORGS:
        organization = organization_create(
            slug=slug, name=slug, admin_email=f"admin@{slug}.test", admin_password="chaos-pw-123"
        )
        connection.set_schema_to_public()
        phone_number_connect(
            organization=organization,
            phone_number_id=NUMBERS[slug],
            waba_id="9" + NUMBERS[slug],
            display_number="+1 555 " + NUMBERS[slug][-7:],
            access_token=TOKEN,
        )
        targets[slug] = (organization, NUMBERS[slug])
        SCHEMAS[slug] = organization.schema_name
    return targets


def customers_of(slug: str, count: int) -> list[str]:
    base = 4915100000000 if slug == ORGS[0] else 4915200000000
    return [str(base + n) for n in range(count)]


def scenario(args, client, fleet: Fleet, devstack, targets) -> dict:
    from django.db import connection

    expected_in: list[tuple[str, str]] = []  # (slug, wamid)
    lock = threading.Lock()

    def customer_writes(slug: str, wa_id: str, text: str) -> None:
        answer = client.customer_sends_text(NUMBERS[slug], wa_id, text, wait=False)
        with lock:
            expected_in.append((slug, answer["message"]["id"]))

    # Warm-up: every customer writes once (opens their windows), all stored before the faults.
    for slug in ORGS:
        for wa_id in customers_of(slug, args.customers):
            customer_writes(slug, wa_id, "hello")
    wait_until(lambda: stored_count(expected_in) == len(expected_in), 60, "warm-up stored")
    say(f"warm-up: {len(expected_in)} customer messages stored")

    stop = threading.Event()
    created_out: list[tuple[str, str]] = []  # (slug, text marker)

    def inbound() -> None:
        for i in range(args.inbound):
            slug = ORGS[i % 2]
            wa_id = customers_of(slug, args.customers)[(i // 2) % args.customers]
            customer_writes(slug, wa_id, f"chaos inbound {i}")
            time.sleep(args.duration / max(1, args.inbound))

    def outbound() -> None:
        for j in range(args.outbound):
            slug = ORGS[j % 2]
            wa_id = customers_of(slug, args.customers)[(j // 2) % args.customers]
            marker = f"chaos outbound {j}"
            outgoing_create(targets[slug][0], NUMBERS[slug], wa_id, marker, stop)
            created_out.append((slug, marker))
            time.sleep(args.duration / max(1, args.outbound))
        connection.close()

    traffic = [threading.Thread(target=inbound), threading.Thread(target=outbound)]
    started = time.monotonic()
    for thread in traffic:
        thread.start()

    def at(fraction: float) -> None:
        time.sleep(max(0.0, started + fraction * args.duration - time.monotonic()))

    faults: list[str] = []
    at(0.15)
    fleet.kill9("webhook")
    faults.append("kill -9 webhook worker")
    time.sleep(1)
    fleet.start_worker("webhook")
    at(0.3)
    fleet.kill9("outbound")
    faults.append("kill -9 outbound worker")
    time.sleep(1)
    fleet.start_worker("outbound")
    at(0.45)
    devstack.redis_down()
    time.sleep(1.5)
    devstack.redis_up()
    faults.append("restart Redis")
    at(0.6)
    devstack.postgres_down()
    time.sleep(3)
    devstack.postgres_up()
    faults.append("restart PostgreSQL")
    at(0.8)
    port = fleet.web_ports[0]
    fleet.web[port].send_signal(signal.SIGTERM)
    fleet.web[port].wait(timeout=30)
    fleet.start_web(port)
    faults.append("SIGTERM web process")
    for thread in traffic:
        thread.join()
    stop.set()
    say(f"traffic done after {time.monotonic() - started:.1f}s; faults: {', '.join(faults)}")

    deadline = time.monotonic() + args.drain
    while time.monotonic() < deadline:
        sweep(targets)
        if stored_count(expected_in) == len(expected_in) and outbound_settled(targets, created_out):
            break
        time.sleep(2)
    say(f"drained after {time.monotonic() - started:.1f}s")
    return measure(client, targets, expected_in, created_out, faults)


def outgoing_create(organization, number: str, wa_id: str, marker: str, stop) -> None:
    """Create one queued outgoing message (the post_save signal enqueues its send), retrying
    through outages like an API client would; never twice (the marker is checked first)."""
    from django.db import connection
    from django.utils import timezone
    from django_tenants.utils import schema_context

    from whatsapp.models import Contact, WhatsAppMessage

    last: Exception | None = None
    for _ in range(200):
        try:
            with schema_context(organization.schema_name):
                if WhatsAppMessage.objects.filter(text=marker).exists():
                    return
                contact = Contact.objects.get(wa_id=wa_id)
                WhatsAppMessage.objects.create(
                    direction=WhatsAppMessage.Direction.OUTGOING,
                    status=WhatsAppMessage.Status.QUEUED,
                    contact=contact,
                    recipient=wa_id,
                    phone_number_id=number,
                    type="text",
                    text=marker,
                    content={"body": marker},
                    timestamp=timezone.now(),
                )
            return
        except Exception as exc:  # PostgreSQL or Redis is down: try again
            last = exc
            connection.close()
            time.sleep(0.3)
    raise RuntimeError(f"could not create {marker}: {type(last).__name__}: {last}")


def sweep(targets) -> None:
    """What beat's outbound sweep does, per organization (re-drives lost sends)."""
    from django.conf import settings
    from django.db import connection
    from django_tenants.utils import schema_context

    from whatsapp.services.outbound import messages_sweep_stale

    for organization, _ in targets.values():
        try:
            with schema_context(organization.schema_name):
                messages_sweep_stale(
                    unconfirmed_after=timedelta(seconds=settings.WHATSAPP_SEND_UNCONFIRMED_AFTER),
                    requeue_after=timedelta(seconds=settings.WHATSAPP_SEND_REQUEUE_AFTER),
                )
        except Exception as exc:  # report and keep draining
            say(f"sweep failed: {type(exc).__name__}: {exc}")
            connection.close()


def wait_until(predicate, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.3)


def stored_count(expected: list[tuple[str, str]]) -> int:
    from whatsapp.models import WhatsAppMessage

    total = 0
    for slug in ORGS:
        wamids = [wamid for s, wamid in expected if s == slug]
        total += _in_schema(
            slug, lambda wamids=wamids: WhatsAppMessage.objects.filter(wamid__in=wamids).count()
        )
    return total


def _in_schema(slug: str, query):
    from django.db import connection
    from django_tenants.utils import schema_context

    try:
        with schema_context(SCHEMAS[slug]):
            return query()
    except Exception:  # the database is restarting
        connection.close()
        return 0


def outbound_settled(targets, created: list[tuple[str, str]]) -> bool:
    from whatsapp.models import WhatsAppMessage

    open_states = [WhatsAppMessage.Status.QUEUED, WhatsAppMessage.Status.SENDING]
    waiting = sum(
        _in_schema(
            slug,
            lambda: WhatsAppMessage.objects.filter(
                direction="outgoing", status__in=open_states
            ).count(),
        )
        for slug in ORGS
    )
    return waiting == 0


def measure(client, targets, expected_in, created_out, faults) -> dict:
    from django.db import connection
    from django_tenants.utils import schema_context

    from whatsapp.models import WhatsAppMessage

    deliveries = client.deliveries()
    attempts = [a for d in deliveries for a in d["attempts"]]
    non_200 = [a for a in attempts if a["status"] != 200]
    given_up = [d for d in deliveries if d["state"] == "failed"]
    posted_at = {}  # inbound wamid -> when the sandbox first posted it
    for delivery in deliveries:
        for entry in delivery["payload"].get("entry", []):
            for change in entry.get("changes", []):
                for message in change.get("value", {}).get("messages", []):
                    posted_at[message["id"]] = delivery["created_at"]
    stored: Counter[str] = Counter()
    stored_at: dict[str, float] = {}
    outgoing: dict[str, tuple[str, str, str]] = {}
    for slug in ORGS:
        with schema_context(SCHEMAS[slug]):
            for wamid, created in WhatsAppMessage.objects.filter(direction="incoming").values_list(
                "wamid", "created_at"
            ):
                stored[wamid] += 1
                stored_at[wamid] = created.timestamp()
            for reference, text, status in WhatsAppMessage.objects.filter(
                direction="outgoing"
            ).values_list("client_reference", "text", "status"):
                outgoing[str(reference)] = (slug, text, status)
    expected = {wamid for _, wamid in expected_in}
    sends = Counter(m["biz_opaque_callback_data"] for m in client.sent_messages())
    markers = Counter(text for _, text, _ in outgoing.values())
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT coalesce(max(extract(epoch FROM c.processed_at - e.received_at)), 0) "
            "FROM public.tenants_webhookchange c JOIN public.tenants_rawwebhookevent e "
            "ON e.id = c.event_id WHERE c.processed_at IS NOT NULL"
        )
        (max_ack_lag,) = cursor.fetchone()
    lags = [stored_at[w] - posted_at[w] for w in expected if w in stored_at and w in posted_at]
    return {
        "faults": faults,
        "deliveries_posted": len(deliveries),
        "delivery_attempts": len(attempts),
        "delivery_non_200": len(non_200),
        "deliveries_given_up": len(given_up),
        "inbound_expected": len(expected),
        "messages_stored": sum(1 for w in expected if stored[w]),
        "inbound_duplicates": sum(n - 1 for n in stored.values() if n > 1),
        "inbound_lost": len(expected - set(stored)),
        "outbound_created": len(created_out),
        "outbound_rows_duplicated": sum(n - 1 for n in markers.values() if n > 1),
        "sends_exactly_once": sum(1 for ref in outgoing if sends[ref] == 1),
        "sends_duplicated": sum(1 for ref in outgoing if sends[ref] > 1),
        "sends_lost": sum(1 for ref in outgoing if sends[ref] == 0),
        "outbound_states": dict(Counter(status for _, _, status in outgoing.values())),
        "max_ingest_lag_s": round(float(max_ack_lag), 2),
        "max_posted_to_stored_s": round(max(lags, default=0.0), 2),
    }


def report(result: dict, *, as_json: bool) -> None:
    print()
    print(f"faults: {', '.join(result['faults'])}")
    print(
        f"deliveries posted: {result['deliveries_posted']} "
        f"(attempts {result['delivery_attempts']}, non-200 {result['delivery_non_200']}, "
        f"given up {result['deliveries_given_up']})"
    )
    print(
        f"messages stored: {result['messages_stored']}/{result['inbound_expected']}, "
        f"duplicates {result['inbound_duplicates']}, lost {result['inbound_lost']}"
    )
    print(
        f"sends exactly once: {result['sends_exactly_once']}/{result['outbound_created']} "
        f"(duplicated {result['sends_duplicated']}, never sent {result['sends_lost']}; "
        f"states {result['outbound_states']})"
    )
    print(
        f"max ingest lag: acknowledged -> applied {result['max_ingest_lag_s']} s, "
        f"first posted -> stored {result['max_posted_to_stored_s']} s"
    )
    if as_json:
        print(json.dumps(result))


if __name__ == "__main__":
    raise SystemExit(main())
