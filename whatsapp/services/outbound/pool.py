"""The worker's bounded pool of HTTP senders: a chunk's requests go out concurrently.

One send is mostly waiting (for its limiter slot, then for Meta's answer), so a Celery worker
thread that sent its chunk one request at a time would spend a 1,000/s number's budget on
sleeping. The task's thread claims the chunk and settles it in the database; the requests
themselves run here, `WHATSAPP_SEND_CONCURRENCY` threads per worker process over the one pooled
HTTP client (`whatsapp.services.meta_access.shared_http_client`). Pool threads never touch the
database (Django's connections are per thread and a pool thread has no tenant schema): a job
sleeps until its slot, makes the one Graph call and hands back the result or the exception; the
task's thread then records the answers' time in the limiter (`release`), for many at once.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from django.conf import settings

from whatsapp.graph.client import GraphClient
from whatsapp.graph.types import SentMessage
from whatsapp.services.ratelimit import Reservation

_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None
_pool_pid: int | None = None


def send_pool() -> ThreadPoolExecutor:
    """The process's sender pool (created on first use, again after a fork)."""
    global _pool, _pool_pid
    with _lock:
        if _pool is None or _pool_pid != os.getpid():
            _pool = ThreadPoolExecutor(
                max_workers=max(1, int(getattr(settings, "WHATSAPP_SEND_CONCURRENCY", 32))),
                thread_name_prefix="whatsapp-send",
            )
            _pool_pid = os.getpid()
        return _pool


def _post_at_slot(
    client: GraphClient, slot: Reservation, phone_number_id: str, payload: Mapping[str, Any]
) -> SentMessage | Exception:
    slot.sleep_until_slot()
    try:
        return client.send_message(phone_number_id, payload)
    except Exception as exc:  # handed back to the task's thread, which applies the policy
        return exc


def post_at_slot(
    *,
    client: GraphClient,
    slot: Reservation,
    phone_number_id: str,
    payload: Mapping[str, Any],
) -> Future[SentMessage | Exception]:
    """Send one message at its slot on the pool; the future's result is Meta's answer or the
    exception the call raised (never raised by the future itself). The caller releases the slot
    once the future is done (`SendRateLimiter.release`: the request, if it arrived, arrived
    before that)."""
    return send_pool().submit(_post_at_slot, client, slot, phone_number_id, payload)
