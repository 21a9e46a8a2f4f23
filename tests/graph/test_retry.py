"""Unit tests of whatsapp.graph.retry: backoff growth, cap, full-jitter bounds, retry-after
floors and which errors are retried. Pure: the random source and `sleep` are injected."""

from __future__ import annotations

import random

import pytest

from whatsapp.graph.errors import (
    GraphAuthError,
    GraphConnectionError,
    GraphError,
    GraphPermanentError,
    GraphRateLimitedError,
    GraphTimeoutError,
    GraphTransientError,
)
from whatsapp.graph.retry import DEFAULT_RETRY_POLICY, RetryPolicy, call_with_retry


def no_jitter(**kw: float) -> RetryPolicy:
    return RetryPolicy(jitter=False, **kw)  # type: ignore[arg-type]


def test_defaults():
    policy = DEFAULT_RETRY_POLICY
    assert (policy.max_attempts, policy.base_delay, policy.max_delay, policy.factor) == (
        5,
        1.0,
        60.0,
        2.0,
    )
    assert policy.jitter is True


def test_backoff_grows_exponentially_and_is_capped():
    policy = no_jitter(base_delay=1.0, factor=2.0, max_delay=10.0)
    assert [policy.delay_for(n) for n in range(1, 7)] == [1.0, 2.0, 4.0, 8.0, 10.0, 10.0]
    assert policy.delay_for(10_000) == 10.0  # no overflow


def test_full_jitter_stays_within_zero_and_the_cap():
    rng = random.Random(42)
    policy = RetryPolicy(base_delay=1.0, factor=2.0, max_delay=30.0, rng=rng.random)
    for attempt in range(1, 9):
        cap = min(30.0, 2.0 ** (attempt - 1))
        delays = [policy.delay_for(attempt) for _ in range(200)]
        assert all(0.0 <= d <= cap for d in delays)
        assert max(delays) > cap * 0.8  # really spread over the range
    assert RetryPolicy(rng=lambda: 0.0).delay_for(3) == 0.0
    assert RetryPolicy(rng=lambda: 0.5).delay_for(3) == 2.0


def test_retry_after_is_a_floor():
    policy = RetryPolicy(rng=lambda: 0.0, max_delay=60.0)
    budget = GraphRateLimitedError("budget", code=80007, retry_after=300.0)
    assert policy.delay_for(1, budget) == 300.0  # above max_delay: never below retry-after
    throughput = GraphRateLimitedError("throughput", code=130429, retry_after=1.0)
    assert policy.delay_for(1, throughput) == 1.0
    assert no_jitter(max_delay=60.0).delay_for(4, throughput) == 8.0  # backoff above floor


def test_pair_rate_floor_grows_4_to_the_n():
    policy = RetryPolicy(rng=lambda: 0.0, max_delay=60.0)
    pair = GraphRateLimitedError("pair", code=131056, retry_after=1.0, retry_after_growth=4.0)
    assert [policy.delay_for(n, pair) for n in range(1, 6)] == [1.0, 4.0, 16.0, 60.0, 60.0]


@pytest.mark.parametrize(
    ("error", "retried"),
    [
        (GraphTransientError("5xx", http_status=503), True),
        (GraphConnectionError("refused"), True),
        (GraphTimeoutError("read timeout", maybe_delivered=False), True),
        (GraphTimeoutError("send timed out", maybe_delivered=True), False),
        (GraphRateLimitedError("throughput", code=130429, retry_after=1.0), True),
        (GraphAuthError("expired", code=190), False),
        (GraphPermanentError("bad param", code=100), False),
        (GraphError("unknown", code=999999), False),
        (ValueError("not a graph error"), False),
    ],
)
def test_should_retry(error, retried):
    assert DEFAULT_RETRY_POLICY.should_retry(error, 1) is retried


def test_should_retry_stops_at_max_attempts():
    policy = RetryPolicy(max_attempts=3)
    error = GraphTransientError("5xx")
    assert [policy.should_retry(error, n) for n in (1, 2, 3, 4)] == [True, True, False, False]


def test_call_with_retry_retries_transient_then_succeeds():
    outcomes: list[Exception | str] = [GraphTransientError("a"), GraphConnectionError("b"), "ok"]
    sleeps: list[float] = []

    def fn() -> str:
        outcome = outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    assert call_with_retry(fn, no_jitter(), sleep=sleeps.append) == "ok"
    assert sleeps == [1.0, 2.0]


def test_call_with_retry_gives_up_and_reraises():
    calls = []

    def fn() -> None:
        calls.append(1)
        raise GraphTransientError("down")

    with pytest.raises(GraphTransientError):
        call_with_retry(fn, no_jitter(max_attempts=3), sleep=lambda _: None)
    assert len(calls) == 3

    calls.clear()

    def permanent() -> None:
        calls.append(1)
        raise GraphPermanentError("bad", code=100)

    with pytest.raises(GraphPermanentError):
        call_with_retry(permanent, DEFAULT_RETRY_POLICY, sleep=lambda _: None)
    assert len(calls) == 1


def test_call_with_retry_max_sleep_defers_long_waits():
    sleeps: list[float] = []

    def fn() -> None:
        raise GraphRateLimitedError("budget", code=4, retry_after=300.0)

    with pytest.raises(GraphRateLimitedError):
        call_with_retry(fn, DEFAULT_RETRY_POLICY, sleep=sleeps.append, max_sleep=10.0)
    assert sleeps == []


def test_policy_rejects_nonsense():
    with pytest.raises(ValueError):
        RetryPolicy(max_attempts=0)
    with pytest.raises(ValueError):
        RetryPolicy(factor=0.5)
