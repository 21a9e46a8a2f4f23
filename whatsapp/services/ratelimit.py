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
  on a loaded 2-CPU machine.
- Headroom: Meta counts inbound and outbound messages of every kind against the number's cap,
  so the limiter hands out only `1 - WHATSAPP_RATE_LIMIT_RESERVED_SHARE` of it (default 10%
  left for inbound traffic and live replies sent outside this pipeline).
- Tier: the rate is read per send through `number_messages_per_second` (80 standard, 1,000
  after Meta's upgrade, 20 for numbers shared with the WhatsApp Business app), so a tier change
  takes effect on the next send.
- A 130429 from Meta means the number is over its cap anyway (e.g. other traffic): `pause`
  pushes the schedule back for every worker.
- The caller reserves first, then records the attempt in the database, then sleeps only what
  is left until its slot: the database write happens inside the wait, not between the slot
  and the request.
- No burst allowance (tau = 0): an idle number does not accumulate credit that a campaign start
  could spend as a burst above the cap.
- A caller that would have to wait longer than `max_wait` gets no reservation (the script does
  not move the TAT) and is told how long the queue is: the task re-schedules itself instead of
  holding a worker thread asleep.

Pair rate (131056, one business number to one user): `PairBackoff` blocks the pair for 4^n
seconds (1, 4, 16 ... capped), n counting the pair's recent 131056s, in Redis shared by workers.

Keys are `whatsapp:ratelimit:<phone_number_id>` and
`whatsapp:pair:<phone_number_id>:<recipient>`. Meta's phone_number_id is globally unique (the
routing table's unique index), so tenants cannot collide or read each other's budget.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import redis
from django.conf import settings

KEY_PREFIX = "whatsapp:ratelimit:"
PAIR_KEY_PREFIX = "whatsapp:pair:"
# Meta's fixed throughput of numbers shared with the WhatsApp Business app (coexistence).
COEXISTENCE_MESSAGES_PER_SECOND = 20

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


# KEYS[1] = bucket key; ARGV = interval_us, max_wait_us, count. Reserves up to `count`
# consecutive slots whose wait is at most max_wait. Returns {granted, first_wait_us}; granted 0:
# first_wait_us is the queue's length.
_GCRA_MANY_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local max_wait = tonumber(ARGV[2])
local count = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local wait = tat - now
if wait > max_wait then
  return {0, wait}
end
local granted = math.min(count, math.floor((max_wait - wait) / interval) + 1)
local new_tat = tat + interval * granted
redis.call('SET', KEYS[1], string.format('%d', new_tat), 'PX',
  math.floor((new_tat - now) / 1000) + 60000)
return {granted, wait}
"""

# KEYS[1] = bucket key; ARGV = pause_us. Moves the schedule at least pause_us into the future.
_PAUSE_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local new_tat = tat + tonumber(ARGV[1])
redis.call('SET', KEYS[1], string.format('%d', new_tat), 'PX',
  math.floor((new_tat - now) / 1000) + 60000)
return new_tat - now
"""

# KEYS[1] = pair counter, KEYS[2] = pair block; ARGV = base_ms, growth, cap_ms, memory_ms.
# n = INCR counter; block for base * growth^(n-1) ms (capped). Returns the block in ms.
_PAIR_LUA = """
local n = redis.call('INCR', KEYS[1])
local block = tonumber(ARGV[1]) * tonumber(ARGV[2]) ^ (n - 1)
if block > tonumber(ARGV[3]) then block = tonumber(ARGV[3]) end
block = math.floor(block)
redis.call('PEXPIRE', KEYS[1], math.floor(block + tonumber(ARGV[4])))
redis.call('SET', KEYS[2], '1', 'PX', block)
return block
"""


@dataclass(frozen=True)
class Reservation:
    """`granted`: a slot is reserved `wait` seconds from now. Otherwise the queue is `wait`
    seconds long and nothing was reserved."""

    granted: bool
    wait: float
    at: float = field(default_factory=time.monotonic)  # when the answer was given

    def late_by(self) -> float:
        """Seconds the reserved slot is already past (negative: still ahead)."""
        return time.monotonic() - (self.at + self.wait)

    def sleep_until_slot(self) -> None:
        """Sleep what is left until the reserved slot (no-op when it has passed)."""
        left = self.at + self.wait - time.monotonic()
        if self.granted and left > 0:
            time.sleep(left)


def _key(name: str) -> str:
    """`name` under the deployment's REDIS_KEY_PREFIX ("" in production; per run in tests)."""
    return str(getattr(settings, "REDIS_KEY_PREFIX", "")) + name


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
            headroom = 1.0 - float(getattr(settings, "WHATSAPP_RATE_LIMIT_RESERVED_SHARE", 0.1))
        if jitter is None:
            jitter = float(getattr(settings, "WHATSAPP_RATE_LIMIT_JITTER", 0.1))
        self.phone_number_id = phone_number_id
        self.limit = messages_per_second
        # Slots per second actually handed out (module docstring).
        self.rate = headroom * max(messages_per_second - 1, 1) / (1 + jitter)
        self.key = _key(KEY_PREFIX + phone_number_id)
        self._redis = client or _redis()
        self._script = self._redis.register_script(_GCRA_LUA)
        self._many = self._redis.register_script(_GCRA_MANY_LUA)
        self._pause = self._redis.register_script(_PAUSE_LUA)

    @property
    def interval(self) -> float:
        """Seconds between two slots handed out."""
        return max(1, round(1_000_000 / self.rate)) / 1_000_000

    def reserve(self, *, max_wait: float) -> Reservation:
        """Reserve the number's next send slot if it is at most `max_wait` seconds away."""
        interval_us = max(1, round(1_000_000 / self.rate))
        granted, wait_us = self._script(
            keys=[self.key], args=[interval_us, max(0, round(max_wait * 1_000_000))]
        )
        return Reservation(granted=bool(granted), wait=int(wait_us) / 1_000_000)

    def reserve_many(self, *, count: int, max_wait: float) -> list[Reservation]:
        """Reserve up to `count` consecutive slots at most `max_wait` seconds away, in one Redis
        call. Returns one granted Reservation per slot (spaced `interval` apart), or a single
        not-granted one whose `wait` is the queue's length."""
        interval_us = max(1, round(1_000_000 / self.rate))
        granted, wait_us = self._many(
            keys=[self.key],
            args=[interval_us, max(0, round(max_wait * 1_000_000)), max(1, count)],
        )
        at = time.monotonic()
        if not granted:
            return [Reservation(granted=False, wait=int(wait_us) / 1_000_000, at=at)]
        return [
            Reservation(granted=True, wait=(int(wait_us) + i * interval_us) / 1_000_000, at=at)
            for i in range(int(granted))
        ]

    def pause(self, *, seconds: float) -> float:
        """Push the number's schedule `seconds` further out for every worker (Meta said 130429).
        Returns how far away the next slot now is, in seconds."""
        return int(self._pause(keys=[self.key], args=[max(1, round(seconds * 1_000_000))])) / 1e6

    def acquire(self, *, max_wait: float) -> Reservation:
        """Reserve a slot and sleep until it; returns the reservation (not granted: no sleep)."""
        reservation = self.reserve(max_wait=max_wait)
        reservation.sleep_until_slot()
        return reservation

    def reset(self) -> None:
        """Forget the number's schedule (tests and benchmarks)."""
        self._redis.delete(self.key)


def number_messages_per_second(number: object) -> int:
    """The number's current throughput tier in messages per second (Meta's cap, both directions).

    The one place the rate is read: a coexistence number (shared with the WhatsApp Business
    app) is fixed at 20/s; otherwise the tier Meta last reported (a `throughput` field, when the
    number has one, set from `phone_number_quality_update` webhooks), else
    PhoneNumber.messages_per_second, else WHATSAPP_DEFAULT_MESSAGES_PER_SECOND.
    https://developers.facebook.com/docs/whatsapp/throughput
    """
    if getattr(number, "is_coexistence", False):
        return COEXISTENCE_MESSAGES_PER_SECOND
    for attribute in ("throughput_mps", "messages_per_second"):
        value = getattr(number, attribute, None)
        if isinstance(value, int) and value > 0:
            return value
    return int(settings.WHATSAPP_DEFAULT_MESSAGES_PER_SECOND)


def limiter_for_number(*, phone_number_id: str, messages_per_second: int | None) -> SendRateLimiter:
    """The limiter of a number at the given rate (see `number_messages_per_second`)."""
    rate = messages_per_second or settings.WHATSAPP_DEFAULT_MESSAGES_PER_SECOND
    return SendRateLimiter(phone_number_id=phone_number_id, messages_per_second=rate)


class PairBackoff:
    """The 131056 pair-rate backoff of one (number, recipient), shared by workers via Redis."""

    def __init__(
        self,
        *,
        phone_number_id: str,
        recipient: str,
        base: float = 1.0,
        growth: float = 4.0,
        cap: float = 1024.0,
        client: redis.Redis | None = None,
    ) -> None:
        self.counter_key = _key(f"{PAIR_KEY_PREFIX}{phone_number_id}:{recipient}:n")
        self.block_key = _key(f"{PAIR_KEY_PREFIX}{phone_number_id}:{recipient}")
        self.base, self.growth, self.cap = base, growth, cap
        self._redis = client or _redis()
        self._script = self._redis.register_script(_PAIR_LUA)

    def blocked_for(self) -> float:
        """Seconds the pair is still blocked (0.0: free to send)."""
        ttl = self._redis.pttl(self.block_key)
        return ttl / 1000 if ttl and ttl > 0 else 0.0

    def penalize(self) -> float:
        """Meta answered 131056: block the pair 4^n seconds (n-th time recently); returns it."""
        block_ms = self._script(
            keys=[self.counter_key, self.block_key],
            args=[round(self.base * 1000), self.growth, round(self.cap * 1000), 600_000],
        )
        return int(block_ms) / 1000

    def reset(self) -> None:
        self._redis.delete(self.counter_key, self.block_key)


def pairs_blocked(*, phone_number_id: str, recipients: list[str]) -> dict[str, float]:
    """{recipient: seconds still blocked} for the pairs backing off (131056), in one round trip.
    Recipients that are free are left out."""
    unique = list(dict.fromkeys(r for r in recipients if r))
    if not unique:
        return {}
    pipe = _redis().pipeline(transaction=False)
    for recipient in unique:
        pipe.pttl(_key(f"{PAIR_KEY_PREFIX}{phone_number_id}:{recipient}"))
    return {r: ttl / 1000 for r, ttl in zip(unique, pipe.execute(), strict=True) if ttl and ttl > 0}
