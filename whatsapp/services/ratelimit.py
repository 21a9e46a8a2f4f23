"""The per-phone-number send rate limiter, shared by every worker through Redis.

Meta caps each registered number's throughput (reference §14: 80 msg/s by default, up to 1,000;
over it: error 130429). Every worker process and thread that sends for a number must therefore
draw from one budget, so the budget lives in Redis and is updated by one atomic Lua script.

Algorithm: GCRA (generic cell rate algorithm) used as a *scheduler*. The key holds the
"theoretical arrival time" (TAT) of the next free slot; each call reserves the next slot
(TAT += 1/rate) and is told how long to wait for it. Slots are therefore spaced exactly
1/rate apart across the whole fleet, whatever the number of workers, with no polling and no
thundering herd. Details that keep the fleet *just under* the limit:

- The script reads the clock with Redis `TIME`, so every worker uses the same clock (worker
  clocks may drift; the reservation arithmetic must not).
- Slots are spaced so that even when requests reach Meta up to `WHATSAPP_RATE_LIMIT_JITTER`
  seconds late (thread scheduling, GIL, network) no 1-second window holds more than the
  configured rate: interval = (1 + jitter) / (rate - 1), i.e. about 90% of 80/s and 91% of
  1,000/s with the default 100 ms. Spacing of exactly 1/rate allows rate+1 requests in a
  window and, with any jitter, more: measured on the sandbox, 50 ms still drew a few 130429
  on a loaded 2-CPU machine. The optional `WHATSAPP_RATE_LIMIT_HEADROOM` (default 1.0)
  reserves a further share, e.g. for inbound traffic, which Meta counts against the same cap.
- The caller reserves first, then records the attempt in the database, then sleeps only what
  is left until its slot: the database write happens inside the wait, not between the slot
  and the request.
- No burst allowance (tau = 0): an idle number does not accumulate credit that a campaign start
  could spend as a burst above the cap.
- A caller that would have to wait longer than `max_wait` gets no reservation (the script does
  not move the TAT) and is told how long the queue is: the task re-schedules itself instead of
  holding a worker thread asleep.

Keys are `whatsapp:ratelimit:<phone_number_id>`. Meta's phone_number_id is globally unique (the
routing table's unique index), so tenants cannot collide or read each other's budget.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import redis
from django.conf import settings

KEY_PREFIX = "whatsapp:ratelimit:"

# KEYS[1] = bucket key; ARGV = interval_us, max_wait_us.
# Returns {granted (1/0), wait_us}: granted → sleep wait_us then send; not granted → come back
# in about wait_us. Microsecond integers: Lua numbers are doubles, exact far beyond 2^53 µs.
_GCRA_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local max_wait = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local wait = tat - now
if wait > max_wait then
  return {0, wait}
end
local new_tat = tat + interval
redis.call('SET', KEYS[1], string.format('%d', new_tat), 'PX', math.floor(wait / 1000) + 60000)
return {1, wait}
"""


@dataclass(frozen=True)
class Reservation:
    """`granted`: a slot is reserved `wait` seconds from now. Otherwise the queue is `wait`
    seconds long and nothing was reserved."""

    granted: bool
    wait: float
    at: float = field(default_factory=time.monotonic)  # when the answer was given

    def sleep_until_slot(self) -> None:
        """Sleep what is left until the reserved slot (no-op when it has passed)."""
        left = self.at + self.wait - time.monotonic()
        if self.granted and left > 0:
            time.sleep(left)


_client_lock = threading.Lock()
_clients: dict[str, redis.Redis] = {}


def _redis() -> redis.Redis:
    url = settings.REDIS_URL
    with _client_lock:
        client = _clients.get(url)
        if client is None:
            client = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
            _clients[url] = client
        return client


class SendRateLimiter:
    """The shared budget of one phone number (see the module docstring)."""

    def __init__(
        self,
        *,
        phone_number_id: str,
        messages_per_second: float,
        headroom: float | None = None,
        jitter: float | None = None,
        client: redis.Redis | None = None,
    ) -> None:
        if messages_per_second <= 0:
            raise ValueError("messages_per_second must be positive")
        if headroom is None:
            headroom = float(getattr(settings, "WHATSAPP_RATE_LIMIT_HEADROOM", 1.0))
        if jitter is None:
            jitter = float(getattr(settings, "WHATSAPP_RATE_LIMIT_JITTER", 0.1))
        self.phone_number_id = phone_number_id
        self.limit = messages_per_second
        # Slots per second actually handed out (module docstring).
        self.rate = headroom * max(messages_per_second - 1, 1) / (1 + jitter)
        self.key = KEY_PREFIX + phone_number_id
        self._redis = client or _redis()
        self._script = self._redis.register_script(_GCRA_LUA)

    def reserve(self, *, max_wait: float) -> Reservation:
        """Reserve the number's next send slot if it is at most `max_wait` seconds away."""
        interval_us = max(1, round(1_000_000 / self.rate))
        granted, wait_us = self._script(
            keys=[self.key], args=[interval_us, max(0, round(max_wait * 1_000_000))]
        )
        return Reservation(granted=bool(granted), wait=int(wait_us) / 1_000_000)

    def acquire(self, *, max_wait: float) -> Reservation:
        """Reserve a slot and sleep until it; returns the reservation (not granted: no sleep)."""
        reservation = self.reserve(max_wait=max_wait)
        reservation.sleep_until_slot()
        return reservation

    def reset(self) -> None:
        """Forget the number's schedule (tests and benchmarks)."""
        self._redis.delete(self.key)


def limiter_for_number(*, phone_number_id: str, messages_per_second: int | None) -> SendRateLimiter:
    """The limiter of a number at its configured rate (PhoneNumber.messages_per_second)."""
    rate = messages_per_second or settings.WHATSAPP_DEFAULT_MESSAGES_PER_SECOND
    return SendRateLimiter(phone_number_id=phone_number_id, messages_per_second=rate)
