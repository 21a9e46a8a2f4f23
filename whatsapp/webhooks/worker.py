"""The webhook worker loop (`manage.py webhook_worker`): claim batches until told to stop.

It waits on PostgreSQL `LISTEN` (the request's `pg_notify` wakes it within milliseconds) and polls
every `WHATSAPP_WEBHOOK_POLL_SECONDS` anyway, which also picks up retries that came due and any
notification missed while it was busy or reconnecting. Several workers may run at once: claims
are `FOR UPDATE SKIP LOCKED` row locks, released (never lost) if a worker dies.
"""

from __future__ import annotations

import logging
import threading
import time

from django.conf import settings
from django.db import connection

from whatsapp.webhooks.heartbeat import Heartbeat
from whatsapp.webhooks.process import webhook_batch_process
from whatsapp.webhooks.receive import NOTIFY_CHANNEL

logger = logging.getLogger(__name__)


class _Listener:
    """LISTEN on the worker's own Django connection (re-issued after a reconnect)."""

    def __init__(self) -> None:
        self._listening_on: object | None = None

    def wait(self, timeout: float) -> None:
        connection.ensure_connection()
        raw = connection.connection
        if raw is not self._listening_on:
            with connection.cursor() as cursor:
                cursor.execute(f"LISTEN {NOTIFY_CHANNEL}")
            self._listening_on = raw
        for _ in raw.notifies(timeout=timeout, stop_after=1):
            pass


def webhook_worker_run(
    *,
    batch_size: int | None = None,
    once: bool = False,
    stop: threading.Event | None = None,
    poll_seconds: float | None = None,
) -> int:
    """Process batches until `stop` is set (or, with `once`, until a batch finds nothing).

    Returns the number of events and changes claimed in total. A batch that raises (database
    gone, a bug) is logged, its transaction rolled back, and the loop carries on after a pause.
    The worker beats (`whatsapp.webhooks.heartbeat`) while it runs, unless `once`.
    """
    stop = stop or threading.Event()
    listener = _Listener()
    heartbeat = None if once else Heartbeat()
    try:
        return _loop(stop, listener, heartbeat, batch_size, once, poll_seconds)
    finally:
        if heartbeat is not None:
            heartbeat.stop()


def _loop(
    stop: threading.Event,
    listener: _Listener,
    heartbeat: Heartbeat | None,
    batch_size: int | None,
    once: bool,
    poll_seconds: float | None,
) -> int:
    total = 0
    while not stop.is_set():
        if heartbeat is not None:
            heartbeat.beat(claimed=total)
        size = batch_size or settings.WHATSAPP_WEBHOOK_BATCH_SIZE
        try:
            result = webhook_batch_process(batch_size=size)
        except Exception:
            logger.exception("webhook worker: batch failed; retrying after a pause")
            connection.close()
            stop.wait(1.0)
            continue
        total += result.claimed
        if result.claimed:
            logger.info(
                "webhook batch: events=%d event_id=%s..%s changes=%d processed=%d failed=%d "
                "no_handler=%d tenants=%d",
                result.events,
                result.first_event_id or "-",
                result.last_event_id or "-",
                result.changes,
                result.processed,
                result.failed,
                result.no_handler,
                len(result.tenants),
            )
            if result.claimed < size:
                # Not a full batch: let the next one gather more events (a batch's fixed cost
                # is then shared by more messages) before claiming again.
                stop.wait(settings.WHATSAPP_WEBHOOK_LINGER_SECONDS)
            continue  # there may be more: claim again before waiting
        if once:
            break
        try:
            listener.wait(poll_seconds or settings.WHATSAPP_WEBHOOK_POLL_SECONDS)
        except Exception:
            logger.exception("webhook worker: LISTEN failed; polling")
            connection.close()
            listener = _Listener()
            time.sleep(0.5)
    return total
