"""The shared per-number limiter against the real Redis: many threads (standing in for a fleet
of workers, each with its own Redis connection) stay under the rate in every 1-second window.
The end-to-end check through Celery and the sandbox is in test_send_pipeline.py."""

from __future__ import annotations

import itertools
import threading
import time
import uuid

import pytest
import redis
from django.conf import settings

from whatsapp.services.ratelimit import PACE_CATCH_UP, SendRateLimiter


def max_in_any_window(times: list[float], window: float = 1.0) -> int:
    """The largest number of events inside any window of `window` seconds."""
    times = sorted(times)
    best, start = 0, 0
    for end, t in enumerate(times):
        while t - times[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best


def run_fleet(
    *, rate: int, workers: int, seconds: float, headroom: float | None = None
) -> list[float]:
    number = f"test-{uuid.uuid4().hex}"
    stamps: list[float] = []
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def worker() -> None:
        limiter = SendRateLimiter(
            phone_number_id=number,
            messages_per_second=rate,
            headroom=headroom,
            client=redis.Redis.from_url(settings.REDIS_URL),
        )
        while time.monotonic() < stop_at:
            slot = limiter.acquire(max_wait=0.5)
            if slot.granted:
                with lock:
                    stamps.append(time.monotonic())  # the "request" arrives ...
                limiter.release([slot])  # ... and is answered

    threads = [threading.Thread(target=worker) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    SendRateLimiter(phone_number_id=number, messages_per_second=rate).reset()
    return stamps


def test_a_fleet_of_workers_stays_just_under_the_rate() -> None:
    stamps = run_fleet(rate=100, workers=12, seconds=2.5, headroom=1.0)
    peak = max_in_any_window(stamps)
    assert peak <= 100
    assert peak >= 95  # at the limit, not under it: no jitter allowance is given away


def test_the_reserved_share_is_left_free_for_inbound_and_live_replies(settings) -> None:
    """By default 10% of the number's tier is never handed out (Meta counts inbound too)."""
    settings.WHATSAPP_RATE_LIMIT_RESERVED_SHARE = 0.25
    stamps = run_fleet(rate=100, workers=8, seconds=2.5)
    peak = max_in_any_window(stamps)
    assert peak <= 0.75 * 100
    assert peak >= 70


def test_a_long_queue_is_refused_without_reserving() -> None:
    limiter = SendRateLimiter(
        phone_number_id=f"test-{uuid.uuid4().hex}", messages_per_second=1, headroom=1.0
    )
    first = limiter.reserve(max_wait=5)
    limiter.release([first])  # answered at once
    second = limiter.reserve(max_wait=5)
    refused = limiter.reserve(max_wait=0.5)
    again = limiter.reserve(max_wait=0.5)
    assert first.granted and first.wait == 0
    assert second.granted and 0.9 <= second.wait <= 1.01  # one second after first's answer
    assert not refused.granted and refused.wait > 0.5
    assert not again.granted and abs(again.wait - refused.wait) < 0.1  # nothing was reserved
    limiter.reset()


def test_an_unanswered_request_holds_its_place_in_the_window() -> None:
    """A slot counts until its request is answered, then for one second more: a request still
    on the wire (or a worker that died mid-send) never lets a later one crowd its window."""
    limiter = SendRateLimiter(
        phone_number_id=f"test-{uuid.uuid4().hex}", messages_per_second=2, headroom=1.0
    )
    first, second = limiter.reserve_many(count=2, max_wait=1.0)
    assert first.granted and second.granted and first.member != second.member
    assert not limiter.reserve(max_wait=5).granted  # both in flight: the window is full
    limiter.release([first])
    third = limiter.reserve(max_wait=5)
    assert third.granted and 0.9 <= third.wait <= 1.01  # one second after first's answer
    assert not limiter.reserve(max_wait=3).granted  # second and third still in flight
    limiter.cancel([second, third])  # never sent: given back at once
    assert limiter.reserve(max_wait=3).granted
    limiter.reset()


def test_the_limit_is_the_tier_less_the_reserved_share(settings) -> None:
    settings.WHATSAPP_RATE_LIMIT_RESERVED_SHARE = 0.1
    assert SendRateLimiter(phone_number_id="x", messages_per_second=80).limit == 72
    assert SendRateLimiter(phone_number_id="x", messages_per_second=1000).limit == 900
    settings.WHATSAPP_RATE_LIMIT_RESERVED_SHARE = 0.0
    assert SendRateLimiter(phone_number_id="x", messages_per_second=80).limit == 80


def test_numbers_have_separate_budgets() -> None:
    a = SendRateLimiter(phone_number_id=f"test-{uuid.uuid4().hex}", messages_per_second=1)
    b = SendRateLimiter(phone_number_id=f"test-{uuid.uuid4().hex}", messages_per_second=1)
    assert a.reserve(max_wait=0).granted and not a.reserve(max_wait=0).granted
    assert b.reserve(max_wait=0).granted
    a.reset()
    b.reset()


def test_a_slot_the_window_delayed_is_made_up_by_the_next_ones() -> None:
    """Slots are paced a little closer than the limit (PACE_CATCH_UP): after a slow answer
    held the window, the following slots come faster than 1/limit until the schedule is back,
    and still never more than `limit` in a second."""
    limiter = SendRateLimiter(
        phone_number_id=f"test-{uuid.uuid4().hex}", messages_per_second=10, headroom=1.0
    )
    assert limiter.interval == pytest.approx(1 / (10 * PACE_CATCH_UP), abs=1e-6)
    slots = limiter.reserve_many(count=30, max_wait=5.0)
    waits = [s.wait for s in slots]
    gaps = [b - a for a, b in itertools.pairwise(waits)]
    # The first 10 at the catch-up pace, then the window makes the 11th wait for the 1st's
    # deadline (unanswered: held), so only 10 are handed out within 5 s.
    assert len(slots) == 10
    assert max(gaps) < 1 / 10
    limiter.reset()


def test_a_release_counts_from_the_answer_not_from_the_call() -> None:
    """The flusher sends releases a few ms after their answers, with each answer's time: the
    window counts the request from the answer, and a release never moves a time later."""
    client = redis.Redis.from_url(settings.REDIS_URL)
    limiter = SendRateLimiter(
        phone_number_id=f"test-{uuid.uuid4().hex}",
        messages_per_second=1,
        headroom=1.0,
        client=client,
    )
    slot = limiter.reserve(max_wait=0)
    limiter.release([slot], answered_at=[time.monotonic() - 0.3])  # answered 300 ms ago
    seconds, micros = client.time()
    now_us = seconds * 1_000_000 + micros
    released_us = client.zscore(limiter.key, slot.member)
    assert 0.29 <= (now_us - released_us) / 1e6 <= 0.35
    limiter.release([slot], answered_at=[time.monotonic()])  # a later date: ignored
    assert client.zscore(limiter.key, slot.member) == released_us
    limiter.reset()
