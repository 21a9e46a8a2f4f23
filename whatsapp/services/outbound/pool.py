"""The worker's bounded pool of HTTP senders: a chunk's requests go out concurrently.

One send is mostly waiting (for its limiter slot, then for Meta's answer), so a Celery worker
thread that sent its chunk one request at a time would spend a 1,000/s number's budget on
sleeping. The task's thread claims the chunk and settles it in the database; the requests
themselves run here, `WHATSAPP_SEND_CONCURRENCY` threads per worker process over the one pooled
HTTP client (`whatsapp.services.meta_access.shared_http_client`). Pool threads never touch the
database (Django's connections are per thread and a pool thread has no tenant schema): a job
sleeps until its slot, marks its claim `posted` in the wire fence (`fence`, one Redis call:
the marker is what lets recovery re-send a claimed row whose request was never written), makes
the one Graph call, records the answer's time in the limiter and hands back the result or the
exception. Releases are coalesced: one flusher thread per process
sends the answers of the last ~2 ms in one Redis call (a late release only makes the limiter
more careful; one made before its answer would break its guarantee, and none is).
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import redis
from django.conf import settings

from whatsapp.graph.client import GraphClient
from whatsapp.graph.types import SentMessage
from whatsapp.services.outbound.fence import fence_enter
from whatsapp.services.ratelimit import Reservation, SendRateLimiter

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None
_pool_pid: int | None = None


def send_pool() -> ThreadPoolExecutor:
    """The process's sender pool (created on first use, again after a fork)."""
    global _pool, _pool_pid
    with _lock:
        if _pool is None or _pool_pid != os.getpid():
            _pool = ThreadPoolExecutor(
                max_workers=max(1, int(getattr(settings, "WHATSAPP_SEND_CONCURRENCY", 8))),
                thread_name_prefix="whatsapp-send",
            )
            _pool_pid = os.getpid()
        return _pool


# Releases waiting for the flusher: {limiter key: (limiter, [slots])}.
_pending: dict[str, tuple[SendRateLimiter, list[Reservation]]] = {}
_pending_ready = threading.Condition()
_flusher_pid: int | None = None
RELEASE_GATHER = 0.002  # seconds the flusher lets releases gather before one Redis call


def _release_soon(limiter: SendRateLimiter, slot: Reservation) -> None:
    global _flusher_pid
    with _pending_ready:
        _pending.setdefault(limiter.key, (limiter, []))[1].append(slot)
        _pending_ready.notify()
        if _flusher_pid != os.getpid():
            _flusher_pid = os.getpid()
            threading.Thread(target=_flush_forever, name="whatsapp-release", daemon=True).start()


def _reinit_after_fork() -> None:
    """A forked child (Celery's prefork pool, multiprocessing) gets fresh locks and no pending
    releases: a lock held by one of the parent's threads at the moment of the fork would stay
    held forever in the child, whose copy of that thread does not exist."""
    global _lock, _pool, _pool_pid, _pending, _pending_ready, _flusher_pid
    _lock = threading.Lock()
    _pool, _pool_pid = None, None
    _pending = {}
    _pending_ready = threading.Condition()
    _flusher_pid = None


os.register_at_fork(after_in_child=_reinit_after_fork)


def _flush_forever() -> None:
    while True:
        with _pending_ready:
            while not _pending:
                _pending_ready.wait()
        time.sleep(RELEASE_GATHER)
        with _pending_ready:
            batch = list(_pending.values())
            _pending.clear()
        for limiter, slots in batch:
            try:
                limiter.release(slots)
            except Exception:  # Redis unreachable: the slots count until their deadline
                logger.exception("limiter release failed for %d slot(s)", len(slots))


@dataclass(frozen=True)
class NotPosted:
    """No request was written for the slot: `revoked` (recovery took the claim back first; the
    row is no longer this sender's) or `fence_unavailable` (Redis did not answer; the row is
    still this sender's, to put back in the queue)."""

    reason: str


def _post_at_slot(
    client: GraphClient,
    limiter: SendRateLimiter,
    slot: Reservation,
    phone_number_id: str,
    payload: Mapping[str, Any],
    fence: str | None,
) -> SentMessage | Exception | NotPosted:
    slot.sleep_until_slot()
    if fence is not None:
        # Marked by this thread right before the write, so that a worker killed in between
        # leaves as few ambiguous claims as possible (a flusher thread batching the marks of
        # several threads would widen that window).
        try:
            entered: bool | None = fence_enter(fence)
        except redis.RedisError:
            logger.warning("send fence unavailable: the request was not written")
            entered = None
        if not entered:
            with contextlib.suppress(redis.RedisError):
                limiter.cancel([slot])  # no request left for it
            return NotPosted("revoked" if entered is False else "fence_unavailable")
    try:
        return client.send_message(phone_number_id, payload)
    except Exception as exc:  # handed back to the task's thread, which applies the policy
        return exc
    finally:
        # After the answer (or the failure): the request, if it arrived, arrived before now.
        _release_soon(limiter, slot)


def post_at_slot(
    *,
    client: GraphClient,
    limiter: SendRateLimiter,
    slot: Reservation,
    phone_number_id: str,
    payload: Mapping[str, Any],
    fence: str | None = None,
) -> Future[SentMessage | Exception | NotPosted]:
    """Send one message at its slot on the pool and release the slot once answered; the
    future's result is Meta's answer or the exception the call raised (never raised by the
    future itself). With a `fence` key (`whatsapp.services.outbound.fence`) the request is
    written only if the key could be marked `posted` right before; else the result is
    `NotPosted` and the slot is given back."""
    return send_pool().submit(_post_at_slot, client, limiter, slot, phone_number_id, payload, fence)
