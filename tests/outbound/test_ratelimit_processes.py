"""Two worker processes share one number's limiter, measured where Meta would measure it: the
sandbox records when each request arrived and refuses (130429) any request over the number's
cap in a sliding 1-second window. Each process runs the product's own sending pieces (the Redis
limiter, the sender pool with its coalesced releases, the Graph client) with several threads;
the database is not involved (the full pipeline through Celery is in
test_send_rate_and_receipts.py)."""

from __future__ import annotations

import multiprocessing
import os
import time

import pytest
import redis
from django.conf import settings

from whatsapp.graph.client import GraphClient
from whatsapp.services.outbound.pool import post_at_slot
from whatsapp.services.ratelimit import SendRateLimiter

from .conftest import accepted_sends
from .test_ratelimit import max_in_any_window

pytestmark = [pytest.mark.integration]

LIMIT = 40
SECONDS = 4.0


def _sending_process(base_url: str, phone_number_id: str, token: str, stop_at: float, results):
    """One worker process: reserve slots in chunks and hand them to the sender pool until
    `stop_at`; report (sent, failed)."""
    limiter = SendRateLimiter(
        phone_number_id=phone_number_id,
        messages_per_second=LIMIT,
        headroom=1.0,
        client=redis.Redis.from_url(settings.REDIS_URL),
    )
    client = GraphClient(
        base_url=base_url,
        api_version=settings.WHATSAPP_GRAPH_VERSION,
        token_provider=lambda: token,
    )
    futures = []
    while time.time() < stop_at:
        slots = limiter.reserve_many(count=8, max_wait=0.5)
        if not slots[0].granted:
            time.sleep(min(slots[0].wait, 0.02))
            continue
        for slot in slots:
            n = len(futures)
            payload = {
                "messaging_product": "whatsapp",
                "to": f"4479111{n % 500:05d}",
                "type": "text",
                "text": {"body": f"process {os.getpid()} message {n}"},
            }
            futures.append(
                post_at_slot(
                    client=client,
                    limiter=limiter,
                    slot=slot,
                    phone_number_id=phone_number_id,
                    payload=payload,
                )
            )
    failed = sum(1 for future in futures if isinstance(future.result(), Exception))
    results.put((len(futures), failed))


def test_two_worker_processes_never_put_more_than_the_limit_in_any_second_at_meta(
    sender_a, sandbox
) -> None:
    sandbox.set_rate_limit(sender_a.phone_number_id, LIMIT)  # Meta's cap: 130429 above it
    sandbox.set_window_enforcement(False)
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    stop_at = time.time() + SECONDS
    processes = [
        context.Process(
            target=_sending_process,
            args=(sandbox.base_url, sender_a.phone_number_id, sender_a.token, stop_at, results),
            daemon=True,  # a child that hangs must not hang the test run
        )
        for _ in range(2)
    ]
    for process in processes:
        process.start()
    reports = [results.get(timeout=SECONDS + 30) for _ in processes]
    for process in processes:
        process.join(timeout=10)
    sandbox.set_window_enforcement(True)

    assert all(sent > 0 for sent, _ in reports)  # both processes sent
    assert [failed for _, failed in reports] == [0, 0]  # not one 130429 (nor anything else)
    sends = accepted_sends(sandbox, sender_a.phone_number_id)
    assert len(sends) == sum(sent for sent, _ in reports)
    times = sorted(entry["time"] for entry in sends)
    assert max_in_any_window(times) <= LIMIT
    rate = (len(times) - 1) / (times[-1] - times[0])
    # Close to the limit, not just under it (the benchmark measures 0.95x and more on a quiet
    # machine; a loaded CI runner gets some slack).
    assert rate >= 0.8 * LIMIT


def _child_takes_the_pool_locks(results) -> None:
    from whatsapp.services.outbound import pool

    with pool._pending_ready, pool._lock:
        results.put("ok")


def test_a_process_forked_while_a_parent_thread_holds_the_pool_locks_can_still_send() -> None:
    """Celery's prefork pool forks a process whose other threads may be inside the sender
    pool's locks at that moment; the child must get fresh locks, not copies held forever."""
    from whatsapp.services.outbound import pool

    context = multiprocessing.get_context("fork")
    results = context.Queue()
    with pool._pending_ready, pool._lock:  # as if the release flusher held them at the fork
        child = context.Process(target=_child_takes_the_pool_locks, args=(results,), daemon=True)
        child.start()
    try:
        assert results.get(timeout=10) == "ok"
    finally:
        child.join(timeout=5)
        if child.is_alive():
            child.kill()
