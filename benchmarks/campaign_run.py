#!/usr/bin/env python3
"""A campaign end to end: planning time, achieved rate against the number's limit, the busiest
1-second window at the sandbox while inbound traffic flows, exactly once, worker memory, and
(optionally) a worker killed with SIGKILL mid-campaign.

    .venv/bin/python benchmarks/campaign_run.py [--recipients 100000] [--mps 80]
        [--workers 2] [--concurrency 8] [--reserved-share 0] [--inbound-rate 5]
        [--kill-at 0.3] [--statuses] [--plan-only] [--times-out FILE] [--csv]

Setup: the dev stack running (`python deploy/devstack.py up`) and migrated. Reuses
`outbound_send.py`'s helpers (the `outbound-bench` organization, its number and token, the
sandbox with Meta's per-number cap at `--mps`, Celery worker processes on a private broker
database, the worker meter). Then:

1. `--recipients` contacts tagged `campaign-bench` (bulk insert, not timed) and the approved
   NAMED template `bench_order` (sandbox and stored);
2. a campaign to the tag, planned by `campaign_plan` (timed: audience, frozen variables, the
   flight plan, one recipient row each; target < 30 s for 100,000); with `--csv` the audience
   is a CSV file of `--recipients` numbers no contact holds yet, so planning also creates them;
3. the web app (gunicorn) and a `webhook_worker` take the sandbox's webhooks while customers
   write in at `--inbound-rate` messages a second (the inbound path shares the machine, the
   broker and the number's traffic);
4. the campaign is started; this process plays Celery beat's `campaigns_watch` every 5 s; with
   `--kill-at F` one worker process is killed with SIGKILL once a share F of the recipients was
   accepted, and a new one started (the sandbox then sends a `sent` status webhook per
   message, as Meta does, which settles the sends the killed worker had on the wire);
5. once the campaign is completed it prints: planning time, achieved send rate (accepted sends
   over their time span at the sandbox), the busiest 1-second window, 130429 refusals,
   recipients accepted exactly once / twice or more / never, inbound messages stored, worker
   CPU-ms per send and RSS (start/peak/end and each tenth).

The reserved share (kept for live conversations, 0.1 in production) is `--reserved-share`, 0
here so the figure compares with the tier, as in outbound_send.py. Contacts, messages and
campaigns of the organization are deleted afterwards.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import threading
import time
from collections import Counter

import psutil
from gunicorn_server import free_port, gunicorn_start, processes_stop  # benchmarks/
from outbound_send import (  # benchmarks/, beside this script
    BENCH_BROKER,
    NUMBER_ID,
    ROOT,
    TEMPLATE_NAME,
    WABA_ID,
    WorkerMeter,
    ensure_org,
    max_in_any_window,
    setup_django,
    start_sandbox,
    start_workers,
    wait_for_workers,
)

TAG = "campaign-bench"
COMPONENTS = [
    {"type": "BODY", "text": "Hi {{first_name}}, your order {{order_id}} has shipped."},
]


def seed(organization, count: int) -> None:
    from django.db import connection
    from django_tenants.utils import tenant_context

    from whatsapp.message_templates.models import MessageTemplate
    from whatsapp.models import Contact, ContactTag

    with tenant_context(organization):
        clear()
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO whatsapp_contact (wa_id, name, parent_user_id, username, "
                "opt_out_source, created_at, updated_at) SELECT '4479' || lpad(i::text, 8, '0'), "
                "'Customer ' || i, '', '', '', now(), now() FROM generate_series(1, %s) AS i",
                [count],
            )
            cursor.execute(
                "INSERT INTO whatsapp_contacttag (contact_id, name) SELECT id, %s "
                "FROM whatsapp_contact",
                [TAG],
            )
        MessageTemplate.objects.update_or_create(
            waba_id=WABA_ID,
            name=TEMPLATE_NAME,
            language="en_US",
            defaults={"status": "APPROVED", "category": "UTILITY", "parameter_format": "NAMED",
                      "components": COMPONENTS},
        )  # fmt: skip
        assert Contact.objects.count() == count and ContactTag.objects.count() == count


def clear() -> None:
    """The organization's campaigns, messages, conversations and contacts (set-wise)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE campaigns_campaignrecipient, campaigns_campaign, whatsapp_conversation, "
            "whatsapp_whatsappmessage, whatsapp_contacttag, whatsapp_contact CASCADE"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    parser.add_argument("--recipients", type=int, default=100_000)
    parser.add_argument("--mps", type=int, default=80)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--reserved-share", type=float, default=0.0)
    parser.add_argument("--inbound-rate", type=float, default=5.0)
    parser.add_argument("--kill-at", type=float, default=None, help="share accepted, e.g. 0.3")
    parser.add_argument(
        "--statuses",
        action="store_true",
        help="the sandbox sends a `sent` status webhook per message (on with --kill-at)",
    )
    parser.add_argument("--times-out", help="write the accepted sends' arrival times here")
    parser.add_argument(
        "--csv", action="store_true", help="the audience is a CSV file of new numbers (timed)"
    )
    parser.add_argument("--plan-only", action="store_true", help="measure planning, then stop")
    args = parser.parse_args()

    server, sandbox = start_sandbox(args.mps)
    os.environ["CAMPAIGN_RESERVED_SHARE"] = str(args.reserved_share)
    setup_django(sandbox.base_url, args.reserved_share)
    from django.conf import settings
    from django_tenants.utils import tenant_context

    from tenants.models import PhoneNumber
    from whatsapp.campaigns.models import Campaign
    from whatsapp.campaigns.services.execution import campaign_start, campaigns_watch
    from whatsapp.campaigns.services.planning import campaign_create, campaign_plan
    from whatsapp.models import WhatsAppMessage
    from whatsapp.services.ratelimit import limiter_for_number

    organization = ensure_org()
    sandbox.create_template(TEMPLATE_NAME, waba_id=WABA_ID, category="UTILITY",
                            parameter_format="NAMED", components=COMPONENTS)  # fmt: skip
    PhoneNumber.objects.filter(phone_number_id=NUMBER_ID).update(
        messages_per_second=args.mps, messaging_limit_tier="", quality_rating=""
    )
    limiter_for_number(phone_number_id=NUMBER_ID, messages_per_second=args.mps).reset()
    seed(organization, 0 if args.csv else args.recipients)

    # The web app and the webhook worker for the inbound traffic.
    port = free_port()
    env = dict(os.environ, PORT=str(port), WEB_CONCURRENCY="2", LOG_LEVEL="WARNING")
    processes = [gunicorn_start("saas_platform.wsgi:application", env=env, port=port, name="web")]
    processes.append(
        subprocess.Popen(
            [str(ROOT / ".venv/bin/python"), "manage.py", "webhook_worker"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    )
    statuses = args.statuses or args.kill_at is not None
    sandbox.update_config(
        webhook_url=f"http://127.0.0.1:{port}/webhooks/whatsapp/",
        app_secret=settings.WHATSAPP_APP_SECRET,
        app_id=settings.WHATSAPP_APP_ID,
        # Meta's `sent` receipt settles a send whose answer its killed worker never stored.
        auto_status=statuses,
        auto_status_delays=[0.1],
    )
    workers = start_workers(args.workers, args.concurrency, sandbox.base_url)
    stop = threading.Event()
    try:
        wait_for_workers(args.workers)
        csv_data = None
        if args.csv:  # numbers no contact holds yet: planning creates every contact
            csv_data = ("phone,first_name,order_id\n" + "".join(
                f"+4479{i:08d},Ana{i},O-{i}\n" for i in range(1, args.recipients + 1)
            )).encode()  # fmt: skip
        with tenant_context(organization):
            started = time.monotonic()
            campaign = campaign_create(
                name="bench", template_name=TEMPLATE_NAME, template_language="en_US",
                audience={"csv": True} if args.csv else {"tags": [TAG]},
                variables={"order_id": {"column": "order_id", "fallback": "B-1"}}
                | ({"first_name": {"column": "first_name"}} if args.csv else {}),
            )  # fmt: skip
            campaign = campaign_plan(campaign_id=campaign.pk, csv_data=csv_data)
            planning = time.monotonic() - started
        plan = campaign.plan
        print(
            f"{args.recipients} recipients planned in {planning:.1f} s (target < 30 s: "
            f"{'met' if planning < 30 else 'NOT met'}): {plan['recipients']} to send, expected "
            f"{plan['duration_seconds']} s at {plan['rate_per_second']}/s, estimated cost "
            f"{plan['cost']['total']} {plan['cost']['currency']}; {args.workers} worker(s) x "
            f"{args.concurrency}, reserved share {args.reserved_share:g}, inbound "
            f"{args.inbound_rate:g}/s, status webhooks {'on' if statuses else 'off'}, load "
            f"average {os.getloadavg()[0]:.2f}",
            flush=True,
        )
        if args.plan_only:
            print({k: v for k, v in plan.items() if k not in ("cost", "import")})
            return
        sandbox.clear_requests()

        inbound_sent = [0]

        def inbound() -> None:
            while not stop.wait(1 / args.inbound_rate if args.inbound_rate else 3600):
                i = inbound_sent[0]
                sandbox.customer_sends_text(NUMBER_ID, f"4477{i:08d}", f"hello {i}", wait=False)
                inbound_sent[0] += 1

        traffic = threading.Thread(target=inbound, daemon=True)
        traffic.start()
        killed, killed_at = None, 0.0
        with WorkerMeter(workers) as meter:
            with tenant_context(organization):
                campaign_start(campaign_id=campaign.pk)
                last_watch = time.monotonic()
                deadline = time.monotonic() + max(300, 3 * args.recipients / args.mps)
                while time.monotonic() < deadline:
                    time.sleep(0.5)
                    state = Campaign.objects.get(pk=campaign.pk).state
                    if state in ("completed", "cancelled", "paused"):
                        break
                    if time.monotonic() - last_watch > 5:
                        campaigns_watch()
                        last_watch = time.monotonic()
                    if args.kill_at is not None and killed is None:
                        accepted = WhatsAppMessage.objects.filter(
                            direction="outgoing", status__in=("accepted", "sent")
                        ).count()
                        if accepted >= args.kill_at * args.recipients:
                            killed = workers[0]
                            killed_at = time.monotonic()
                            # The meter stops watching it first (its CPU time is lost).
                            meter.processes = [p for p in meter.processes if p.pid != killed.pid]
                            time.sleep(0.6)  # the sampler's current round is over
                            os.kill(killed.pid, signal.SIGKILL)
                            killed.wait()
                            print(f"    killed worker pid {killed.pid} (SIGKILL) at {accepted} "
                                  "accepted; starting a new one", flush=True)  # fmt: skip
                            workers[0] = start_workers(1, args.concurrency, sandbox.base_url)[0]
                            meter.processes.append(psutil.Process(workers[0].pid))
            wall = time.monotonic() - started - planning
            ended = time.monotonic()
        stop.set()
        traffic.join()
        time.sleep(2)  # the last inbound webhooks are applied
        with tenant_context(organization):
            campaign.refresh_from_db()
            rows = dict(
                WhatsAppMessage.objects.filter(direction="outgoing").values_list(
                    "client_reference", "status"
                )
            )
            stuck = sum(1 for s in rows.values() if s in ("queued", "sending"))
            if stuck:
                from whatsapp.services.outbound.fence import fence_key
                from whatsapp.services.ratelimit import shared_redis

                for row in WhatsAppMessage.objects.filter(
                    direction="outgoing", status__in=("queued", "sending")
                ):
                    key = fence_key(client_reference=row.client_reference, attempt=row.attempts)
                    print(f"    still {row.status}: id {row.pk}, attempts {row.attempts}, "
                          f"claimed {row.last_attempt_at}, next {row.next_attempt_at}, "
                          f"fence {shared_redis().get(key)}", flush=True)  # fmt: skip
            inbound_stored = WhatsAppMessage.objects.filter(direction="incoming").count()
        requests = [
            r for r in sandbox.requests(path_contains=f"/{NUMBER_ID}/messages")
            if r["method"] == "POST" and isinstance(r.get("body"), dict) and r["body"].get("type")
        ]  # fmt: skip
        accepted = [r for r in requests if r["status"] == 200]
        refused = sum(
            1 for r in requests
            if ((r.get("response") or {}).get("error") or {}).get("code") == 130429
        )  # fmt: skip
        per_recipient = Counter(r["body"]["to"] for r in accepted)
        once = sum(1 for n in per_recipient.values() if n == 1)
        twice = sum(1 for n in per_recipient.values() if n > 1)
        never = plan["recipients"] - len(per_recipient)
        times = sorted(r["time"] for r in accepted)
        if args.times_out:  # the arrival times, for a per-second look
            with open(args.times_out, "w") as out:
                out.write("\n".join(f"{t:.6f}" for t in times))
        span = times[-1] - times[0] if len(times) > 1 else 0.0
        rate = (len(times) - 1) / span if span else 0.0
        peak = max_in_any_window(times)
        sends = max(1, len(accepted))
        target = 0.95 * args.mps
        verdict = {True: "met", False: "NOT met"}
        tenths = [meter.rss[len(meter.rss) * i // 10] / 2**20 for i in range(10)]
        print(
            f"campaign {campaign.state} in {wall:.1f} s: achieved {rate:.1f}/s at a {args.mps}/s "
            f"limit (target >= {target:g}/s: {verdict[rate >= target]}), "
            f"busiest 1 s window {peak} (<= {args.mps}: {verdict[peak <= args.mps]}), "
            f"130429 refusals {refused}\n"
            f"    recipients accepted exactly once {once}, more than once {twice}, never {never}; "
            f"rows still queued/sending {stuck}; inbound messages sent {inbound_sent[0]}, stored "
            f"{inbound_stored}\n"
            f"    workers: {1000 * meter.cpu_used / sends:.2f} CPU-ms per send, RSS start/peak/end "
            f"{meter.rss[0] / 2**20:.0f}/{max(meter.rss) / 2**20:.0f}/{meter.rss[-1] / 2**20:.0f} "
            f"MiB (each tenth: {' '.join(f'{mb:.0f}' for mb in tenths)}); load average "
            f"{os.getloadavg()[0]:.2f}",
            flush=True,
        )  # fmt: skip
        if killed is not None:
            # The killed worker's tasks stay unacknowledged in the broker until Redis's
            # visibility timeout (kombu's default: 1 h); the campaign did not wait for them.
            import redis

            unacked = redis.Redis.from_url(BENCH_BROKER).hlen("unacked")
            print(f"    after the kill: campaign {campaign.state} {ended - killed_at:.1f} s "
                  f"later; {unacked} task(s) of the killed worker still unacknowledged in the "
                  "broker (redelivered only after the visibility timeout)", flush=True)  # fmt: skip
    finally:
        stop.set()
        processes_stop(workers + processes)
        with tenant_context(organization):
            clear()
        sandbox.close()
        server.stop()


if __name__ == "__main__":
    main()
