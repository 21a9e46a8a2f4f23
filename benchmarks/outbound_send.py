#!/usr/bin/env python3
"""Outbound throughput: how close does the sending pipeline get to a number's rate limit?

    .venv/bin/python benchmarks/outbound_send.py [--count 3000] [--mps 80] [--mps 1000]
        [--workers 2] [--concurrency 8] [--create bulk|orm|signal] [--reserved-share 0]
        [--template]

Setup: the dev stack running (`python deploy/devstack.py up`) and migrated
(`.venv/bin/python manage.py migrate_platform`). The benchmark then creates (once) an
organization `outbound-bench` with a number and a token, starts the WhatsApp sandbox in this
process (Meta's per-number cap set to the same rate, so going over would show as 130429
refusals) and `--workers` real Celery worker processes (thread pool, `--concurrency` task
threads each, plus the product's sender pool of WHATSAPP_SEND_CONCURRENCY threads) on a private
broker database (redis db 13), and for each `--mps` value:

1. sets the number's `messages_per_second`, resets its limiter;
2. creates `--count` queued outgoing messages: `bulk` (default) with `messages_bulk_create`
   (what a campaign does: set-wise INSERTs, one task per 500 ids), `orm` the baseline it
   replaced (Django's `bulk_create`, then `messages_enqueue`), `signal` one ORM `create` each
   (the post_save signal enqueues one task per message);
3. waits until every message is final and reads the sandbox's recorded requests.

It prints the achieved send rate (accepted requests over their time span), the busiest
1-second window at the sandbox (its recorded arrival times), 130429 refusals, the share of
messages sent exactly once (status `accepted` or later and exactly one accepted request
carrying the message's client_reference), the time to create and enqueue the rows, the workers'
SQL statements and CPU-ms per accepted send, and the workers' RSS while they drain (start, peak,
end). The limiter's reserved share (kept for inbound traffic and live replies, 0.1 in
production) is `--reserved-share`, 0 by default here so the figures compare with the tier; it
is printed. The messages and contacts are deleted afterwards; the organization is kept.

`--template` sends an approved NAMED template (`bench_order`: a body with two variables and a
URL button) instead of text, its `components` built per message by the product's
`whatsapp.message_templates.compose` and checked by the sandbox against the template as Meta
does, so the figures compare template sends with text sends at the same limit.
"""

from __future__ import annotations

# Meta's 200 leaves a message `accepted`; `sent` and later come from status webhooks.
DONE = frozenset({"accepted", "sent", "delivered", "read"})

import argparse
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BENCH_BROKER = os.environ.get("BENCH_BROKER_URL", "redis://127.0.0.1:63790/13")
NUMBER_ID = "990000000000001"
TOKEN = "EAAbench-outbound-token-000001"  # a sandbox-only token
SLUG = "outbound-bench"
WORKER_ARGS = ("-A", "outbound_worker", "worker", "--pool", "threads", "--loglevel", "WARNING",
               "--without-gossip", "--without-mingle")  # fmt: skip
CUSTOMERS = 500  # distinct recipients (Meta's pair rate would throttle one recipient)
WABA_ID = "990000000000099"
TEMPLATE_NAME = "bench_order"
TEMPLATE_COMPONENTS = [
    {"type": "BODY", "text": "Hi {{first_name}}, your order {{order_id}} has shipped."},
    {
        "type": "BUTTONS",
        "buttons": [{"type": "URL", "text": "Track", "url": "https://shop.test/t/{{1}}"}],
    },
]


def start_sandbox(mps: int):
    from whatsapp.sandbox import SandboxClient, SandboxConfig, SandboxServer

    config = SandboxConfig(
        port=0,
        enforce_customer_window=False,
        auto_status=False,
        messages_per_second=mps,
        max_recorded_requests=200_000,
        request_queue_size=4096,
        quiet=True,
    )
    server = SandboxServer(config).start()
    return server, SandboxClient(server.url)


def setup_django(graph_url: str, reserved_share: float) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saas_platform.settings")
    # The free trial's monthly messages would refuse the run (README, "Plans"): metered only.
    os.environ.setdefault("BILLING_ENFORCEMENT", "false")
    os.environ["WHATSAPP_RATE_LIMIT_RESERVED_SHARE"] = str(reserved_share)
    os.environ["CELERY_BROKER_URL"] = BENCH_BROKER
    os.environ["REDIS_URL"] = BENCH_BROKER
    os.environ["WHATSAPP_GRAPH_URL"] = graph_url
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()


def ensure_org():
    from tenants.models import Organization, PhoneNumber
    from tenants.services.credentials import credential_store
    from tenants.services.onboarding import (
        ensure_template_schema,
        organization_create,
        public_tenant_ensure,
    )

    organization = Organization.objects.filter(slug=SLUG).first()
    if organization is None:
        public_tenant_ensure()
        ensure_template_schema()
        organization = organization_create(
            slug=SLUG,
            name="Outbound benchmark",
            admin_email="admin@outbound-bench.test",
            admin_password="bench-pass-12345",
        )
        organization = Organization.objects.get(slug=SLUG)
    PhoneNumber.objects.update_or_create(
        phone_number_id=NUMBER_ID,
        defaults={
            "organization": organization,
            "waba_id": WABA_ID,
            "display_number": "15550009999",
        },
    )
    credential_store(organization=organization, access_token=TOKEN)
    return organization


def start_workers(count: int, concurrency: int, graph_url: str) -> list[subprocess.Popen]:
    env = dict(
        os.environ,
        DJANGO_SETTINGS_MODULE="saas_platform.settings",
        CELERY_BROKER_URL=BENCH_BROKER,
        REDIS_URL=BENCH_BROKER,
        WHATSAPP_GRAPH_URL=graph_url,
        LOG_LEVEL="WARNING",
        PYTHONPATH=str(ROOT / "benchmarks"),
    )
    celery = str(ROOT / ".venv" / "bin" / "celery")
    return [
        subprocess.Popen(
            [celery, *WORKER_ARGS, "--concurrency", str(concurrency), "--hostname", f"b{i}@%h"],
            cwd=ROOT / "benchmarks",
            env=env,
            stdout=subprocess.DEVNULL,
        )
        for i in range(count)
    ]


def wait_for_workers(count: int) -> None:
    from saas_platform.celery import app

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if len(app.control.ping(timeout=1.0) or []) >= count:
            return
    raise SystemExit("workers did not start within 60 s")


def max_in_any_window(times: list[float], window: float = 1.0) -> int:
    times = sorted(times)
    best, start = 0, 0
    for end, t in enumerate(times):
        while t - times[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best


class WorkerMeter:
    """CPU time, RSS (sampled every 0.5 s) and SQL statements of the worker processes."""

    def __init__(self, workers: list[subprocess.Popen]) -> None:
        self.processes = [psutil.Process(w.pid) for w in workers]
        self.rss: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _all(self) -> list[psutil.Process]:
        found = []
        for process in self.processes:
            found.append(process)
            found.extend(process.children(recursive=True))
        return found

    def cpu(self) -> float:
        total = 0.0
        for process in self._all():
            times = process.cpu_times()
            total += times.user + times.system
        return total

    def statements(self) -> int:
        import redis

        client = redis.Redis.from_url(BENCH_BROKER)
        return sum(int(client.get(key) or 0) for key in client.keys("bench:sql:*"))

    def _sample(self) -> None:
        while not self._stop.wait(0.5):
            self.rss.append(sum(p.memory_info().rss for p in self._all()))

    def __enter__(self) -> WorkerMeter:
        self.cpu_before, self.sql_before = self.cpu(), self.statements()
        self.rss.append(sum(p.memory_info().rss for p in self._all()))
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.rss.append(sum(p.memory_info().rss for p in self._all()))
        time.sleep(0.5)  # the last task's statement count reaches Redis
        self.cpu_used = self.cpu() - self.cpu_before
        self.sql_used = self.statements() - self.sql_before


def run(
    organization, sandbox, meter_of, *, count: int, mps: int, create: str, template: bool
) -> dict:
    from django.conf import settings
    from django.db import transaction
    from django.utils import timezone
    from django_tenants.utils import schema_context

    from tenants.models import PhoneNumber
    from whatsapp.models import Contact, Conversation, WhatsAppMessage
    from whatsapp.services.outbound import messages_bulk_create, messages_enqueue
    from whatsapp.services.ratelimit import limiter_for_number

    def clear() -> None:
        for model in (Conversation, WhatsAppMessage, Contact):
            try:
                model.objects.all()._raw_delete(using="default")
            except Exception:  # rows referenced elsewhere: the ORM's delete
                model.objects.all().delete()

    PhoneNumber.objects.filter(phone_number_id=NUMBER_ID).update(messages_per_second=mps)
    limiter_for_number(phone_number_id=NUMBER_ID, messages_per_second=mps).reset()
    sandbox.set_rate_limit(NUMBER_ID, mps)
    sandbox.clear_requests()
    with schema_context(organization.schema_name):
        clear()
        contacts = Contact.objects.bulk_create(
            [
                Contact(wa_id=f"4479111{i:05d}", last_inbound_at=timezone.now())
                for i in range(CUSTOMERS)
            ]
        )
        # Each customer wrote to the number: its 24-hour window is open (checked per number).
        WhatsAppMessage.objects.bulk_create(
            WhatsAppMessage(
                wamid=f"wamid.bench-inbound-{contact.pk}",
                direction="incoming",
                status="received",
                contact=contact,
                type="text",
                phone_number_id=NUMBER_ID,
                timestamp=timezone.now(),
            )
            for contact in contacts
        )
        with meter_of() as meter:
            started = time.monotonic()
            with transaction.atomic():  # tasks are published at this commit
                if create == "signal":
                    ids = [
                        WhatsAppMessage.objects.create(**outgoing(contacts, i, template)).pk
                        for i in range(count)
                    ]
                elif create == "orm":  # the baseline: Django's bulk_create, then enqueue
                    rows = WhatsAppMessage.objects.bulk_create(
                        (WhatsAppMessage(**outgoing(contacts, i, template)) for i in range(count)),
                        batch_size=5000,
                    )
                    ids = [row.pk for row in rows]
                    created = time.monotonic() - started
                    tasks = messages_enqueue(message_ids=ids)
                else:  # the product's bulk creator (campaigns): set-wise INSERT + enqueue
                    ids = messages_bulk_create(
                        messages=(
                            {
                                k: v
                                for k, v in outgoing(contacts, i, template).items()
                                if k not in ("direction", "status")
                            }
                            for i in range(count)
                        )
                    )
                    created = time.monotonic() - started
                    tasks = -(-len(ids) // settings.WHATSAPP_SEND_BATCH_SIZE)
            enqueued = time.monotonic() - started
            if create != "signal":
                print(
                    f"    {count} rows: {create} create {created:.1f} s, messages_enqueue + commit "
                    f"(publishes {tasks} tasks) {enqueued - created:.1f} s, total {enqueued:.1f} s "
                    f"(target < 30 s for 100,000), load average {os.getloadavg()[0]:.2f}",
                    flush=True,
                )
            deadline = time.monotonic() + max(120, 3 * count / mps)
            while WhatsAppMessage.objects.filter(status__in=["queued", "sending"]).exists():
                if time.monotonic() > deadline:
                    break
                time.sleep(0.25)
            wall = time.monotonic() - started
        rows = {
            str(ref): status
            for ref, status in WhatsAppMessage.objects.filter(pk__in=ids).values_list(
                "client_reference", "status"
            )
        }
        clear()
    requests = [
        r for r in sandbox.requests(path_contains=f"/{NUMBER_ID}/messages") if r["method"] == "POST"
    ]
    accepted = [r for r in requests if r["status"] == 200]
    refused_130429 = sum(
        1 for r in requests if ((r.get("response") or {}).get("error") or {}).get("code") == 130429
    )
    per_reference = Counter(r["body"].get("biz_opaque_callback_data") for r in accepted)
    exactly_once = sum(1 for ref, st in rows.items() if st in DONE and per_reference[ref] == 1)
    times = sorted(r["time"] for r in accepted)
    span = times[-1] - times[0] if len(times) > 1 else 0.0
    sends = max(len(accepted), 1)
    return {
        "mps": mps,
        "count": count,
        "sent": sum(1 for st in rows.values() if st in DONE),
        "failed": sum(1 for st in rows.values() if st == "failed"),
        "stuck": sum(1 for st in rows.values() if st in {"queued", "sending"}),
        "rate": (len(times) - 1) / span if span else 0.0,
        "peak_1s": max_in_any_window(times),
        "refused_130429": refused_130429,
        "exactly_once": exactly_once / count if count else 0.0,
        "enqueue_s": enqueued,
        "wall_s": wall,
        "sql_per_send": meter.sql_used / sends,
        "cpu_ms_per_send": 1000 * meter.cpu_used / sends,
        "rss_mb": [meter.rss[0] / 2**20, max(meter.rss) / 2**20, meter.rss[-1] / 2**20],
        # RSS at each tenth of the drain: flat means the workers do not grow with the backlog.
        "rss_tenths": [meter.rss[len(meter.rss) * i // 10] / 2**20 for i in range(10)],
    }


def outgoing(contacts, i: int, template: bool = False) -> dict:
    from django.utils import timezone

    from whatsapp.message_templates.compose import components_build

    row = {
        "direction": "outgoing",
        "status": "queued",
        "contact": contacts[i % CUSTOMERS],
        "type": "text",
        "content": {"body": f"Benchmark message {i}"},
        "phone_number_id": NUMBER_ID,
        "timestamp": timezone.now(),
    }
    if template:
        components = components_build(
            components=TEMPLATE_COMPONENTS,
            parameter_format="NAMED",
            parameters={"first_name": f"Customer {i % CUSTOMERS}", "order_id": f"B-{i}"},
            buttons=[{"index": 0, "url_suffix": f"B-{i}"}],
        )
        row["type"] = "template"
        row["content"] = {
            "name": TEMPLATE_NAME,
            "language": {"code": "en_US"},
            "components": components,
        }
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    parser.add_argument("--count", type=int, default=3000)
    parser.add_argument("--mps", type=int, action="append", help="repeatable; default 80")
    parser.add_argument("--workers", type=int, default=2, help="worker processes")
    parser.add_argument("--concurrency", type=int, default=8, help="task threads per worker")
    parser.add_argument("--create", choices=["bulk", "orm", "signal"], default="bulk")
    parser.add_argument("--reserved-share", type=float, default=0.0)
    parser.add_argument(
        "--template", action="store_true", help="send an approved NAMED template, not text"
    )
    args = parser.parse_args()
    rates = args.mps or [80]

    server, sandbox = start_sandbox(max(rates))
    setup_django(sandbox.base_url, args.reserved_share)
    organization = ensure_org()
    if args.template:
        sandbox.create_template(
            TEMPLATE_NAME,
            waba_id=WABA_ID,
            category="UTILITY",
            parameter_format="NAMED",
            components=TEMPLATE_COMPONENTS,
        )
    workers = start_workers(args.workers, args.concurrency, sandbox.base_url)
    try:
        wait_for_workers(args.workers)
        print(
            f"{args.workers} worker process(es) x {args.concurrency} task threads, "
            f"{args.count} {'template' if args.template else 'text'} messages per run created "
            f"by {args.create}, reserved share "
            f"{args.reserved_share:g}, load average {os.getloadavg()[0]:.2f}, "
            f"sandbox at {sandbox.base_url}",
            flush=True,
        )
        for mps in rates:
            result = run(
                organization,
                sandbox,
                lambda: WorkerMeter(workers),
                count=args.count,
                mps=mps,
                create=args.create,
                template=args.template,
            )
            target = 0.95 * mps if mps <= 80 else 400
            print(
                f"limit {result['mps']:>5}/s: achieved {result['rate']:7.1f}/s "
                f"({100 * result['rate'] / result['mps']:5.1f}% of the limit; target "
                f">= {target:g}/s: {'met' if result['rate'] >= target else 'NOT met'}), "
                f"busiest 1 s window {result['peak_1s']} (<= {mps}: "
                f"{'met' if result['peak_1s'] <= mps else 'NOT met'}), 130429 refusals "
                f"{result['refused_130429']}, sent {result['sent']}, failed {result['failed']}, "
                f"stuck {result['stuck']}, sent exactly once {100 * result['exactly_once']:.2f}%\n"
                f"    created+enqueued in {result['enqueue_s']:.1f} s, wall "
                f"{result['wall_s']:.1f} s; workers: {result['sql_per_send']:.2f} SQL "
                f"statements and {result['cpu_ms_per_send']:.2f} CPU-ms per send, RSS start/peak/"
                f"end {'/'.join(f'{mb:.0f}' for mb in result['rss_mb'])} MiB (each tenth of "
                f"the run: {' '.join(f'{mb:.0f}' for mb in result['rss_tenths'])}); load average "
                f"{os.getloadavg()[0]:.2f}",
                flush=True,
            )
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            try:
                worker.wait(timeout=20)
            except subprocess.TimeoutExpired:
                worker.kill()
        sandbox.close()
        server.stop()


if __name__ == "__main__":
    main()
