#!/usr/bin/env python3
"""`make run`: the whole product on one machine, in sandbox mode, with embedded defaults.

Starts a private PostgreSQL and Redis (deploy/devstack.py) unless DATABASE_URL /
CELERY_BROKER_URL point elsewhere, migrates every schema, seeds the demo organization, then runs
the WhatsApp sandbox, the web server, the webhook worker (`manage.py webhook_worker`: applies
inbound webhooks), a Celery worker (sends, media downloads) and Celery beat until Ctrl-C, which
stops everything it started. Running it twice is safe.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import devstack  # deploy/devstack.py, beside this file

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
PORT = int(os.environ.get("PORT", "8000"))
SANDBOX_PORT = int(os.environ.get("SANDBOX_PORT", "8090"))
BASE_DOMAIN = os.environ.get("BASE_DOMAIN", "localhost")


def run_step(*args: str) -> None:
    subprocess.run([PY, *args], cwd=ROOT, check=True)


def main() -> int:
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
    commands = {
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
        "web": [PY, "manage.py", "runserver", f"127.0.0.1:{PORT}", "--noreload"],
        "webhooks": [PY, "manage.py", "webhook_worker"],
        "worker": [
            PY,
            "-m",
            "celery",
            "-A",
            "saas_platform.celery",
            "worker",
            "--loglevel=INFO",
            "--concurrency=4",
        ],
        "beat": [
            PY,
            "-m",
            "celery",
            "-A",
            "saas_platform.celery",
            "beat",
            "--loglevel=INFO",
            "--schedule",
            str(data / "celerybeat-schedule"),
        ],
    }
    processes: dict[str, subprocess.Popen] = {}
    for name, command in commands.items():
        processes[name] = subprocess.Popen(command, cwd=ROOT, env=env)

    print(
        f"""
  WhatsApp SaaS platform is running (sandbox mode). Ctrl-C stops everything.

  Public host (signup, console, admin):  http://{BASE_DOMAIN}:{PORT}/admin/
  Web app (sign in, demo dashboard):     http://{BASE_DOMAIN}:{PORT}/login/
  Demo organization's API:               http://demo.{BASE_DOMAIN}:{PORT}/api/v1/
  API docs:                              http://demo.{BASE_DOMAIN}:{PORT}/api/v1/docs/
  Shared Meta webhook:                   {webhook_url}
  WhatsApp sandbox (Meta simulator):     http://127.0.0.1:{SANDBOX_PORT}/_sandbox/health

  Demo org admin:   demo@example.com / demo-password-123   (on demo.{BASE_DOMAIN})
  Platform staff:   staff@example.com / staff-password-123 (on {BASE_DOMAIN})
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

    for process in processes.values():
        if process.poll() is None:
            process.terminate()
    for process in processes.values():
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
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
