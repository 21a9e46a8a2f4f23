"""Webhook worker heartbeats: a running worker is listed, a stopped one is not, Redis trouble
never stops a worker (the console's page: tests/console/test_console_webhook_workers.py).

Integration: real Redis (the test run's key prefix), the worker loop in a thread on its own
database connection.
"""

from __future__ import annotations

import os
import socket
import threading

import pytest
from django.db import connection

from tests.conftest import wait_for
from whatsapp.webhooks import heartbeat
from whatsapp.webhooks.worker import webhook_worker_run

pytestmark = pytest.mark.integration


def _names() -> set[str]:
    return {beat.name for beat in heartbeat.webhook_workers_alive() or []}


def test_a_running_worker_beats_and_a_stopped_one_leaves(no_webhook_worker):
    name = f"{socket.gethostname()}:{os.getpid()}"
    stop = threading.Event()

    def run() -> None:
        try:
            webhook_worker_run(stop=stop, poll_seconds=0.1)
        finally:
            connection.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        assert wait_for(lambda: name in _names(), timeout=10)
        beat = next(b for b in heartbeat.webhook_workers_alive() if b.name == name)
        assert beat.claimed >= 0 and beat.beat_at is not None
    finally:
        stop.set()
        thread.join(timeout=10)
    assert not thread.is_alive()
    assert name not in _names()  # a clean exit removes its key at once


def test_redis_trouble_is_reported_not_raised(settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    beat = heartbeat.Heartbeat(name="lonely:1")
    beat.beat(claimed=3, force=True)  # logged, not raised
    beat.stop()
    assert heartbeat.webhook_workers_alive() is None
