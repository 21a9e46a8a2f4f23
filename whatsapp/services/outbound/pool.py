"""The worker's bounded pool of HTTP senders: a chunk's requests go out concurrently.

One send is mostly waiting (for its limiter slot, then for Meta's answer), so a Celery worker
thread that sent its chunk one request at a time would spend a 1,000/s number's budget on
sleeping. The task's thread claims the chunk and settles it in the database; the requests
themselves run here, `WHATSAPP_SEND_CONCURRENCY` threads per worker process over the one pooled
HTTP client (`whatsapp.services.meta_access.shared_http_client`). Pool threads never touch the
database (Django's connections are per thread and a pool thread has no tenant schema): jobs
wait in a heap ordered by slot (`SlotPool`) and a thread takes one when its slot comes; it
marks its claim `posted` in the wire fence (`fence`, one Redis call: the marker is what lets
recovery re-send a claimed row whose request was never written), makes the one Graph call,
records the answer's time in the limiter and hands back the result or the exception.

Releases are coalesced: one flusher thread per process sends the answers of the last ~2 ms in
one Redis call, each with its age, so the window counts a request from its answer and not from
the flush (a release dated before its answer would break the limiter's guarantee; the age is
measured on the monotonic clock from after the answer, so none is).
"""

from __future__ import annotations

import contextlib
import functools
import heapq
import itertools
import logging
import os
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

import redis
from django.conf import settings

from whatsapp.graph.client import GraphClient
from whatsapp.graph.types import SentMessage
from whatsapp.services.outbound.fence import fence_enter
from whatsapp.services.ratelimit import Reservation, SendRateLimiter

logger = logging.getLogger(__name__)


class SlotPool:
    """`size` sender threads that run jobs in the order of their due time (a limiter slot),
    each job no earlier than due.

    A FIFO pool (ThreadPoolExecutor) hands a job to a thread that then sleeps until the job's
    slot: when two task threads submit interleaved chunks, a thread can sleep on a late slot
    while an earlier slot's job waits behind it in the queue. That job leaves late, the
    number's schedule gets a hole, and since the limiter counts a request from its slot until a
    second after its answer, the hole is never made up. Here jobs wait in a heap, not in a
    thread; a thread takes the earliest job only once it is due.
    """

    def __init__(self, *, size: int, name: str) -> None:
        self._heap: list[tuple[float, int, Callable[[], Any], Future]] = []
        self._seq = itertools.count()
        self._ready = threading.Condition()
        for i in range(max(1, size)):
            threading.Thread(target=self._run, name=f"{name}_{i}", daemon=True).start()

    def submit(self, due: float, job: Callable[[], Any]) -> Future:
        """Run `job` at `due` (time.monotonic() seconds) or as soon after as a thread is free;
        the future gets its return value or its exception."""
        future: Future = Future()
        with self._ready:
            heapq.heappush(self._heap, (due, next(self._seq), job, future))
            # Wake every idle thread: one of them may be sleeping toward a later job than this.
            self._ready.notify_all()
        return future

    def _take(self) -> tuple[Callable[[], Any], Future]:
        with self._ready:
            while True:
                if self._heap:
                    left = self._heap[0][0] - time.monotonic()
                    if left <= 0:
                        _due, _seq, job, future = heapq.heappop(self._heap)
                        return job, future
                    self._ready.wait(left)
                else:
                    self._ready.wait()

    def _run(self) -> None:
        while True:
            job, future = self._take()
            if not future.set_running_or_notify_cancel():
                continue
            try:
                result = job()
            except BaseException as exc:  # handed to the future, as an executor does
                future.set_exception(exc)
            else:
                future.set_result(result)


_lock = threading.Lock()
_pool: SlotPool | None = None
_pool_pid: int | None = None


def send_pool() -> SlotPool:
    """The process's sender pool (created on first use, again after a fork)."""
    global _pool, _pool_pid
    with _lock:
        if _pool is None or _pool_pid != os.getpid():
            _pool = SlotPool(
                size=int(getattr(settings, "WHATSAPP_SEND_CONCURRENCY", 8)),
                name="whatsapp-send",
            )
            _pool_pid = os.getpid()
        return _pool


# Releases waiting for the flusher: {limiter key: (limiter, [slots])}.
_pending: dict[str, tuple[SendRateLimiter, list[tuple[Reservation, float]]]] = {}
_pending_ready = threading.Condition()
_flusher_pid: int | None = None
RELEASE_GATHER = 0.002  # seconds the flusher lets releases gather before one Redis call


def _release_soon(limiter: SendRateLimiter, slot: Reservation) -> None:
    global _flusher_pid
    with _pending_ready:
        _pending.setdefault(limiter.key, (limiter, []))[1].append((slot, time.monotonic()))
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
        for limiter, answered in batch:
            slots = [slot for slot, _at in answered]
            try:
                limiter.release(slots, answered_at=[at for _slot, at in answered])
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
    return send_pool().submit(
        slot.at + slot.wait,
        functools.partial(_post_at_slot, client, limiter, slot, phone_number_id, payload, fence),
    )
