"""The one retry policy of the product: exponential backoff with full jitter,
a cap and a maximum number of attempts. Celery tasks use `should_retry`/`delay_for` to pick a
countdown; synchronous callers use `call_with_retry` for idempotent calls (media lookup and
download). The client itself retries only once, after a token refresh (GraphClient._request).

What is retried (Meta: error codes):
- `GraphTransientError` (5xx, codes 1/2/131000/131016, timeouts, connection errors): yes.
- `GraphRateLimitedError`: yes, never sooner than the error's `retry_after` (grown 4^n for the
  131056 pair rate).
- `GraphTimeoutError(maybe_delivered=True)`: NO. A message send timed out after it was written;
  Meta may have accepted it and there is no idempotency key, so a retry can duplicate the
  message. The caller decides: wait for a status webhook or mark the message as unknown.
- `GraphAuthError`: no; the client already refreshed the token once. Halt the tenant.
- `GraphPermanentError`, the base `GraphError` (unknown 4xx codes), anything else: no.

Meta pages:
- error codes: https://developers.facebook.com/documentation/business-messaging/whatsapp/support/error-codes
- throughput: https://developers.facebook.com/documentation/business-messaging/whatsapp/throughput
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from whatsapp.graph.errors import (
    GraphRateLimitedError,
    GraphTimeoutError,
    GraphTransientError,
)

logger = logging.getLogger("whatsapp.graph")

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """Backoff parameters. `attempt` is 1-based: the number of the attempt that just failed.

    Delay before attempt n+1 = uniform(0, min(max_delay, base_delay * factor**(n-1))) with
    jitter ("full jitter"), the cap itself without; then raised to the error's retry-after floor.
    `rng` (returns [0, 1)) is injectable so tests are deterministic.
    """

    max_attempts: int = 5
    base_delay: float = 1.0
    max_delay: float = 60.0
    factor: float = 2.0
    jitter: bool = True
    rng: Callable[[], float] = field(default=random.random, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be >= 1")
        if self.base_delay < 0 or self.max_delay < 0 or self.factor < 1:
            raise ValueError("delays must be >= 0 and factor >= 1")

    def backoff(self, attempt: int) -> float:
        """The capped exponential delay for `attempt`, before jitter."""
        exponent = max(attempt, 1) - 1
        try:
            raw = self.base_delay * self.factor**exponent
        except OverflowError:
            raw = self.max_delay
        return min(self.max_delay, raw)

    def delay_for(self, attempt: int, error: BaseException | None = None) -> float:
        """Seconds to wait before the next attempt, never below the error's retry-after."""
        cap = self.backoff(attempt)
        delay = cap * self.rng() if self.jitter else cap
        return max(delay, self.retry_floor(attempt, error))

    def retry_floor(self, attempt: int, error: BaseException | None) -> float:
        """The minimum wait an error demands: `retry_after`, grown per attempt when the error
        carries a growth hint (131056 pair rate: 1, 4, 16 s; Meta: throughput), the grown part
        capped at max(max_delay, retry_after)."""
        retry_after = getattr(error, "retry_after", None)
        if not retry_after:
            return 0.0
        growth = getattr(error, "retry_after_growth", None)
        if not growth or attempt <= 1:
            return float(retry_after)
        try:
            grown = retry_after * growth ** (attempt - 1)
        except OverflowError:
            grown = float("inf")
        return max(float(retry_after), min(grown, self.max_delay))

    def should_retry(self, error: BaseException, attempt: int) -> bool:
        """True when `error` is worth another attempt and `attempt` < max_attempts."""
        if attempt >= self.max_attempts:
            return False
        if isinstance(error, GraphTimeoutError) and error.maybe_delivered:
            return False
        return isinstance(error, GraphTransientError | GraphRateLimitedError)


DEFAULT_RETRY_POLICY = RetryPolicy()
# For calls made while a user waits (API request, media proxy): few, short waits.
INTERACTIVE_RETRY_POLICY = RetryPolicy(max_attempts=3, base_delay=0.5, max_delay=5.0)


def call_with_retry(
    fn: Callable[[], T],
    policy: RetryPolicy = DEFAULT_RETRY_POLICY,
    sleep: Callable[[float], None] = time.sleep,
    *,
    max_sleep: float | None = None,
) -> T:
    """Call `fn` until it succeeds or `policy` gives up; re-raises the last error.

    Only for idempotent calls (media lookup/download, template listing): a message send must go
    through a task that handles `maybe_delivered`. When `max_sleep` is set and a wait would be
    longer (e.g. a 5-minute budget limit), the error is raised at once so the caller can defer
    the work to a task instead of blocking.
    """
    attempt = 1
    while True:
        try:
            return fn()
        except Exception as exc:
            if not policy.should_retry(exc, attempt):
                raise
            delay = policy.delay_for(attempt, exc)
            if max_sleep is not None and delay > max_sleep:
                raise
            logger.info(
                "graph retry: attempt=%s error=%s code=%s wait=%.2fs",
                attempt,
                type(exc).__name__,
                getattr(exc, "code", None),
                delay,
            )
            sleep(delay)
            attempt += 1
