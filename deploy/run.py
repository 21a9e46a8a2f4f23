#!/usr/bin/env python3
"""`make run`: the whole product on one machine, in sandbox mode, with embedded defaults.

Starts a private PostgreSQL and Redis (deploy/devstack.py) unless DATABASE_URL /
CELERY_BROKER_URL point elsewhere, migrates every schema, seeds the demo organization, then runs
the same processes as production until Ctrl-C, which stops everything it started (each gets
SIGTERM and shuts down gracefully: gunicorn lets requests finish, Celery finishes the task in
hand, the webhook worker its batch). Running it twice is safe.

    web             gunicorn with platform/gunicorn_conf.py (`--dev`: runserver, autoreload)
    webhooks        manage.py webhook_worker: applies inbound webhooks (the raw event row is
                    the queue, not Celery)
    worker-outbound Celery, queue `outbound` (sends), prefetch 1
    worker          Celery, every other queue (inbound, media, campaigns, celery)
    beat            Celery beat (periodic jobs)
    sandbox         the WhatsApp Cloud API simulator (Meta)

Production runs one worker per queue kind (deploy/docker-compose.yml, deploy/k8s/); here the
queues other than `outbound` share one worker: on a 2-core laptop five idle Celery pools only
cost memory, while sends keep their own worker so that a campaign's backlog never delays
inbound work and their prefetch stays at one (README, "Running in production").

Ports: PORT (web, 8000) and SANDBOX_PORT (8090).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import devstack  # deploy/devstack.py, beside this file

# What each Celery worker of `make run` consumes (production: deploy/docker-compose.yml).
OUTBOUND_QUEUES = "outbound"
OTHER_QUEUES = "celery,inbound,media,campaigns"

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
PORT = int(os.environ.get("PORT", "8000"))
SANDBOX_PORT = int(os.environ.get("SANDBOX_PORT", "8090"))
BASE_DOMAIN = os.environ.get("BASE_DOMAIN", "localhost")
# The demo organization's number (tenants/management/commands/seed_demo.py).
DEMO_PHONE_NUMBER_ID = "100000000000001"
# The demo staff user's TOTP secret (seed_demo's STAFF_TOTP_KEY_HEX in base32; DEBUG only).
DEMO_STAFF_TOTP_SECRET = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"  # noqa: S105 (public demo secret)
# A demo customer's first messages, sent once per `.data/` (make clean starts again).
DEMO_CONVERSATION = (
    "Hi! I ordered a blue kettle on Monday (order 1042). Has it shipped yet?",
    "Also: can I still change the delivery address?",
)


def demo_conversation_seed(data: Path) -> None:
    """Once the web tier and the sandbox answer, a sandbox customer writes to the demo number:
    the messages travel the real path (signed webhook -> raw event -> worker -> the demo
    organization's inbox), so the inbox `make run` points at is not empty. Once per data dir."""
    marker = data / "demo-conversation-seeded"
    if marker.exists():
        return
    sys.path.insert(0, str(ROOT))
    from whatsapp.sandbox import SandboxClient

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if devstack.port_open(PORT) and devstack.port_open(SANDBOX_PORT):
            break
        time.sleep(0.5)
    else:
        print("[run] demo conversation not seeded: web or sandbox did not start", flush=True)
        return
    try:
        with SandboxClient(f"http://127.0.0.1:{SANDBOX_PORT}") as sandbox:
            for text in DEMO_CONVERSATION:
                sandbox.customer_sends_text(
                    DEMO_PHONE_NUMBER_ID, "+15551234567", text, profile_name="Maria Demo"
                )
    except Exception as exc:  # the product runs on without its demo conversation
        print(f"[run] demo conversation not seeded: {exc}", flush=True)
        return
    marker.write_text("seeded\n")


def run_step(*args: str) -> None:
    subprocess.run([PY, *args], cwd=ROOT, check=True)


def celery(*args: str) -> list[str]:
    return [PY, "-m", "celery", "-A", "saas_platform.celery", *args, "--loglevel=INFO"]


def process_commands(*, dev: bool, data: Path, webhook_url: str) -> dict[str, list[str]]:
    """Name -> command line of every long-running process (see the module docstring)."""
    if dev:
        web = [PY, "manage.py", "runserver", f"127.0.0.1:{PORT}"]
    else:
        # gunicorn with the production config; bound to loopback here (the config binds all
        # interfaces for containers), and two processes on a laptop unless WEB_CONCURRENCY says.
        gunicorn = str(Path(PY).with_name("gunicorn"))
        web = [
            gunicorn,
            "saas_platform.wsgi",
            "--config",
            "python:saas_platform.gunicorn_conf",
            "--bind",
            f"127.0.0.1:{PORT}",
            "--workers",
            os.environ.get("WEB_CONCURRENCY", "2"),
        ]
    return {
        "sandbox": [
            PY,
            "-m",
            "whatsapp.sandbox",
            "serve",
            "--port",
            str(SANDBOX_PORT),
            "--webhook-url",
            webhook_url,
        ],
        "web": web,
        "webhooks": [PY, "manage.py", "webhook_worker"],
        "worker-outbound": celery(
            "worker",
            "--queues",
            OUTBOUND_QUEUES,
            "--prefetch-multiplier=1",
            "--concurrency=2",
            "--hostname=outbound@%h",
        ),
        "worker": celery(
            "worker", "--queues", OTHER_QUEUES, "--concurrency=2", "--hostname=default@%h"
        ),
        "beat": celery("beat", "--schedule", str(data / "celerybeat-schedule")),
    }


def main() -> int:
    dev = "--dev" in sys.argv[1:]
    env = dict(os.environ)
    env.setdefault("DJANGO_SETTINGS_MODULE", "saas_platform.settings")
    # Sandbox mode unless told otherwise: the Graph API is the simulator started below.
    env.setdefault("WHATSAPP_GRAPH_URL", f"http://127.0.0.1:{SANDBOX_PORT}")
    os.environ.update(env)

    # Stop on exit only the services this run started (a dev stack that was already up stays).
    already_up = {
        "postgres": devstack.port_open(devstack.PG_PORT),
        "redis": devstack.port_open(devstack.REDIS_PORT),
    }
    run_step("deploy/devstack.py", "up")
    run_step("manage.py", "migrate_platform", "-v0")
    run_step("manage.py", "seed_demo")

    data = ROOT / ".data"
    data.mkdir(exist_ok=True)
    webhook_url = f"http://127.0.0.1:{PORT}/webhooks/whatsapp/"
    commands = process_commands(dev=dev, data=data, webhook_url=webhook_url)
    processes: dict[str, subprocess.Popen] = {}
    for name, command in commands.items():
        # Own session: Ctrl-C reaches this script only, which then stops each process with
        # SIGTERM, the graceful signal of all of them (SIGINT is gunicorn's quick shutdown).
        processes[name] = subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True)
    threading.Thread(target=demo_conversation_seed, args=(data,), daemon=True).start()

    print(
        f"""
  WhatsApp SaaS platform is running (sandbox mode{", runserver with autoreload" if dev else ""}).
  Ctrl-C stops everything.

  Demo organization's inbox:             http://demo.{BASE_DOMAIN}:{PORT}/login/?next=/inbox/
  Web app (sign in, find your org):      http://{BASE_DOMAIN}:{PORT}/login/
  Public host (signup, admin):           http://{BASE_DOMAIN}:{PORT}/admin/
  Demo organization's API:               http://demo.{BASE_DOMAIN}:{PORT}/api/v1/
  API docs:                              http://demo.{BASE_DOMAIN}:{PORT}/api/v1/docs/
  Shared Meta webhook:                   {webhook_url}
  WhatsApp sandbox (Meta simulator):     http://127.0.0.1:{SANDBOX_PORT}/_sandbox/health

  Demo org admin:   demo@example.com / demo-password-123   (on demo.{BASE_DOMAIN})
  Platform staff:   staff@example.com / staff-password-123 (on {BASE_DOMAIN})
  Platform console: http://{BASE_DOMAIN}:{PORT}/console/  (staff, then a TOTP code:
                    secret {DEMO_STAFF_TOTP_SECRET} in any authenticator app, or
                    {PY} manage.py console_totp --email staff@example.com --code)
  A customer writes: {PY} -m whatsapp.sandbox send --phone-number-id 100000000000001 \\
                       --from +15551234567 --text hi
""",
        flush=True,
    )

    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    exit_code = 0
    while not stopping:
        for name, process in processes.items():
            if process.poll() is not None:
                print(f"[run] {name} exited with {process.returncode}; stopping", flush=True)
                stopping, exit_code = True, 1
                break
        time.sleep(0.5)

    for name, process in processes.items():
        if process.poll() is None:
            if dev and name == "web":
                # runserver's autoreloader runs the server in a child of its own.
                os.killpg(process.pid, signal.SIGTERM)
            else:
                # The master only: it stops its own workers/pool gracefully.
                process.terminate()
    # Longer than gunicorn's graceful_timeout (20 s); a Celery task in hand may take longer
    # (CELERY_TASK_TIME_LIMIT), but a developer's Ctrl-C should not wait for it.
    deadline = time.monotonic() + 25
    for name, process in processes.items():
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            print(f"[run] {name} did not stop in time; killing it", flush=True)
            os.killpg(process.pid, signal.SIGKILL)
    if not already_up["redis"] and devstack.uses_private(
        "CELERY_BROKER_URL", devstack.DEFAULT_BROKER_URL
    ):
        devstack.redis_down()
    if not already_up["postgres"] and devstack.uses_private(
        "DATABASE_URL", devstack.DEFAULT_DATABASE_URL
    ):
        devstack.postgres_down()
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
