#!/usr/bin/env python3
"""Inbound webhook throughput: acknowledgements/s, end-to-end rate, and a bare-view ceiling.

    .venv/bin/python benchmarks/webhook_ingest.py [--messages 3000] [--tenants 4]
        [--concurrency 16] [--batch 1] [--worker-concurrency 4] [--url http://127.0.0.1:8000]

Needs the dev stack (PostgreSQL + Redis: `make services`, or `python deploy/devstack.py up`) and
a migrated dev database (`.venv/bin/python manage.py migrate_platform`). It creates its own
organizations `bench-ingest-<n>` (with `organization_create`) and numbers if absent, then:

1. starts the platform's WSGI app on a loopback port (Django's threaded server, what `make run`
   uses), in a subprocess whose public urlconf also has a bare `/bench/bare/` view, unless `--url`
   points at a running server (then the ceiling is skipped);
2. starts `--worker-concurrency` webhook worker processes (`manage.py webhook_worker`: they
   claim stored events with SKIP LOCKED; a `make run` worker on the same database helps too);
3. posts `--messages` signed webhooks (one text message each, or `--batch` messages per POST)
   spread over the tenants, with `--concurrency` keep-alive clients over loopback;
4. prints the acknowledgement rate and latency, the end-to-end rate (first POST -> last message
   row committed in its tenant), and the same requests against the bare Django view.

The run's messages, contacts and raw events are deleted afterwards unless `--keep`.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import threading
import time
import types
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saas_platform.settings")
BENCH_BROKER = os.environ.get("BENCH_CELERY_BROKER_URL", "redis://127.0.0.1:63790/11")
os.environ["CELERY_BROKER_URL"] = BENCH_BROKER
os.environ.setdefault("LOG_LEVEL", "WARNING")

import django

django.setup()

import httpx
from django.conf import settings
from django.db import connection
from django_tenants.utils import schema_context

from tenants.models import Organization, PhoneNumber, RawWebhookEvent, WebhookChange
from whatsapp.webhooks.receive import sign_body

PASSWORD = "bench-ingest-password-123"
TOKEN = "EAAbench-ingest-token"


# --- Server mode (subprocess) ------------------------------------------------------------------
def serve(port: int) -> None:
    """The platform's WSGI app plus a bare view on the public host, on 127.0.0.1:`port`."""
    from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler
    from django.core.wsgi import get_wsgi_application
    from django.http import HttpResponse
    from django.urls import include, path
    from django.views.decorators.csrf import csrf_exempt

    @csrf_exempt
    def bare(request):
        request.read()
        return HttpResponse("OK", content_type="text/plain")

    urls = types.ModuleType("bench_public_urls")
    urls.urlpatterns = [
        path("bench/bare/", bare),
        path("", include(settings.PUBLIC_SCHEMA_URLCONF)),
    ]
    sys.modules["bench_public_urls"] = urls
    settings.PUBLIC_SCHEMA_URLCONF = "bench_public_urls"

    class QuietHandler(WSGIRequestHandler):
        def log_message(self, *args) -> None:
            pass

    # Django's default listen backlog (10) drops SYNs under concurrent clients (1 s retransmits
    # would dominate p99); production servers use hundreds.
    ThreadedWSGIServer.request_queue_size = 256
    server = ThreadedWSGIServer(("127.0.0.1", port), QuietHandler, allow_reuse_address=True)
    server.daemon_threads = True
    server.set_app(get_wsgi_application())
    server.serve_forever()


# --- Setup -----------------------------------------------------------------------------------
def ensure_tenants(count: int) -> list[tuple[Organization, str]]:
    from tenants.services.onboarding import organization_create, public_tenant_ensure
    from tenants.services.routing import phone_number_connect

    public_tenant_ensure()
    result = []
    for index in range(1, count + 1):
        slug = f"bench-ingest-{index}"
        organization = Organization.objects.filter(slug=slug).first()
        if organization is None:
            organization = organization_create(
                slug=slug, name=slug, admin_email=f"admin@{slug}.test", admin_password=PASSWORD
            )
            connection.set_schema_to_public()
        phone_number_id = f"9100000000{index:05d}"
        if not PhoneNumber.objects.filter(phone_number_id=phone_number_id).exists():
            phone_number_connect(
                organization=organization,
                phone_number_id=phone_number_id,
                waba_id=f"9200000000{index:05d}",
                display_number=f"+1 555 91{index:05d}",
                access_token=TOKEN,
            )
        result.append((organization, phone_number_id))
    return result


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_http(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=1.0)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise SystemExit(f"server at {url} did not come up")


# --- Payloads --------------------------------------------------------------------------------
def payloads(run: str, targets: list[tuple[Organization, str]], messages: int, batch: int):
    """Signed bodies: `batch` text messages per POST, tenants in turn."""
    bodies = []
    timestamp = str(int(time.time()))
    for start in range(0, messages, batch):
        _, phone_number_id = targets[(start // batch) % len(targets)]
        items = []
        for n in range(start, min(start + batch, messages)):
            items.append(
                {
                    "from": f"55119{n % 5000:08d}",
                    "id": f"wamid.{run}.{n}",
                    "timestamp": timestamp,
                    "type": "text",
                    "text": {"body": f"benchmark message {n} ção"},
                }
            )
        value = {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550000000", "phone_number_id": phone_number_id},
            "contacts": [
                {"profile": {"name": f"Customer {m['from'][-4:]}"}, "wa_id": m["from"]}
                for m in items
            ],
            "messages": items,
        }
        payload = {
            "object": "whatsapp_business_account",
            "entry": [{"id": "x", "changes": [{"field": "messages", "value": value}]}],
        }
        body = json.dumps(payload, separators=(",", ":")).encode()
        bodies.append((body, sign_body(body)))
    return bodies


def post_all(url: str, bodies: list[tuple[bytes, str]], concurrency: int) -> tuple[float, list]:
    """POST every body; returns (seconds, per-request latencies). Fails on any non-200."""
    local = threading.local()
    latencies: list[float] = []
    errors: list[str] = []

    def client() -> httpx.Client:
        if not hasattr(local, "client"):
            local.client = httpx.Client(timeout=30.0)
        return local.client

    def send(item: tuple[bytes, str]) -> None:
        body, signature = item
        started = time.perf_counter()
        response = client().post(
            url,
            content=body,
            headers={"Content-Type": "application/json", "X-Hub-Signature-256": signature},
        )
        latencies.append(time.perf_counter() - started)
        if response.status_code != 200:
            errors.append(f"{response.status_code} {response.text[:100]}")

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        list(pool.map(send, bodies))
    elapsed = time.perf_counter() - started
    if errors:
        raise SystemExit(f"{len(errors)} request(s) failed, first: {errors[0]}")
    return elapsed, latencies


def stored_count(run: str, targets: list[tuple[Organization, str]]) -> int:
    from whatsapp.models import WhatsAppMessage

    total = 0
    for organization, _ in targets:
        with schema_context(organization.schema_name):
            total += WhatsAppMessage.objects.filter(wamid__startswith=f"wamid.{run}.").count()
    return total


def cleanup(run: str, targets, first_event_id: int) -> None:
    from whatsapp.models import Contact, WhatsAppMessage

    for organization, _ in targets:
        with schema_context(organization.schema_name):
            WhatsAppMessage.objects.filter(wamid__startswith=f"wamid.{run}.").delete()
            Contact.objects.filter(messages__isnull=True).delete()
    WebhookChange.objects.filter(event_id__gt=first_event_id).delete()
    RawWebhookEvent.objects.filter(pk__gt=first_event_id).delete()


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


# --- Main ------------------------------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--tenants", type=int, default=4)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--batch", type=int, default=1, help="messages per POST")
    parser.add_argument("--worker-concurrency", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--url", help="use this running server instead of starting one")
    parser.add_argument("--keep", action="store_true", help="keep the run's rows")
    parser.add_argument("--serve", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
        return

    targets = ensure_tenants(args.tenants)
    processes: list[subprocess.Popen] = []
    logs = ROOT / ".data" / "bench"
    logs.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "CELERY_BROKER_URL": BENCH_BROKER, "LOG_LEVEL": "WARNING"}
    try:
        if args.url:
            base = args.url.rstrip("/")
        else:
            port = free_port()
            base = f"http://127.0.0.1:{port}"
            processes.append(
                subprocess.Popen(
                    [sys.executable, __file__, "--serve", str(port)],
                    env=env,
                    stdout=(logs / "server.log").open("w"),
                    stderr=subprocess.STDOUT,
                )
            )
            wait_http(f"{base}/bench/bare/")
        for n in range(args.worker_concurrency):
            processes.append(
                subprocess.Popen(
                    [sys.executable, "manage.py", "webhook_worker"],
                    cwd=ROOT,
                    env=env,
                    stdout=(logs / f"webhook-worker-{n}.log").open("w"),
                    stderr=subprocess.STDOUT,
                )
            )
        run = uuid.uuid4().hex[:8]
        first_event_id = (
            RawWebhookEvent.objects.order_by("-pk").values_list("pk", flat=True).first()
        )
        first_event_id = first_event_id or 0
        bodies = payloads(run, targets, args.messages, args.batch)
        webhook = f"{base}/webhooks/whatsapp/"
        # Warm-up (connections, code paths), not counted.
        post_all(f"{base}/bench/bare/" if not args.url else webhook, bodies[:1], 1)

        print(
            f"webhook ingest: {args.messages} messages in {len(bodies)} POSTs to {args.tenants} "
            f"tenants, {args.concurrency} concurrent clients, webhook workers x"
            f"{args.worker_concurrency}, server {'external' if args.url else 'threaded WSGI'}"
        )
        started = time.perf_counter()
        elapsed, latencies = post_all(webhook, bodies, args.concurrency)
        print(
            f"  acknowledged: {len(bodies) / elapsed:8.0f} POSTs/s  "
            f"({args.messages / elapsed:.0f} messages/s; p50 {pct(latencies, 0.5):.1f} ms, "
            f"p99 {pct(latencies, 0.99):.1f} ms)"
        )
        deadline = time.monotonic() + max(120.0, args.messages / 10)
        stored = 0
        while time.monotonic() < deadline:
            stored = stored_count(run, targets)
            if stored >= args.messages:
                break
            time.sleep(0.05)
        end_to_end = time.perf_counter() - started
        print(
            f"  end to end:   {stored / end_to_end:8.0f} messages/s  "
            f"({stored}/{args.messages} stored in their tenants after {end_to_end:.1f} s)"
        )
        failed = WebhookChange.objects.filter(
            event_id__gt=first_event_id, state=WebhookChange.State.FAILED
        ).count()
        if failed:
            print(f"  WARNING: {failed} change(s) failed (see .data/bench/worker.log)")
        if not args.url:
            bare_elapsed, bare_latencies = post_all(f"{base}/bench/bare/", bodies, args.concurrency)
            print(
                f"  bare view:    {len(bodies) / bare_elapsed:8.0f} POSTs/s  "
                f"(ceiling of this server; p50 {pct(bare_latencies, 0.5):.1f} ms, "
                f"p99 {pct(bare_latencies, 0.99):.1f} ms)"
            )
        if not args.keep:
            cleanup(run, targets, first_event_id)
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()


if __name__ == "__main__":
    main()
