"""The per-phone-number send rate limiter, shared by every worker through Redis.

Meta caps each registered number's throughput: 80 messages a second by default, up to 1,000
after an upgrade, both directions counted; over it Meta answers error 130429
(https://developers.facebook.com/documentation/business-messaging/whatsapp/throughput). Every
worker process and thread that sends for a number draws from one budget, so the budget lives in
Redis and is changed only by atomic Lua scripts that read Redis's clock (`TIME`), one clock
for the whole fleet.

The promise: **no 1-second window at Meta holds more than `limit` of our requests**, whatever
the network and scheduling delays, while a busy number runs at `limit / (1 + latency)` (80/s
with 20 ms round trips: 78.4/s). How:

- Admission by a sliding window of *sends*. The key `whatsapp:ratelimit:<phone_number_id>` is
  a sorted set with one entry per request; its score is the request's *release time*: the
  moment its answer came back (recorded by `release`, with Redis's clock, after the response),
  or, while it is still on the wire, a deadline far ahead (`hold`). A slot at time `s` is handed
  out only if fewer than `limit` entries have a release time after `s - 1 s`; a request leaves
  no earlier than its slot. Why that is enough: take any 1 s window [a, a+1) at Meta and the
  last request R admitted among those that arrived in it. Every other one was admitted before
  R, and arrived (so was answered, or is still in flight) at or after `a`, later than
  `slot(R) - 1` since R arrived in the window after its slot. So each of them was counted when
  R was admitted: at most `limit - 1` others, `limit` in all. Delays only make a release time
  later, which is the safe side; no jitter allowance has to be guessed.
- Pacing: slots are also spaced at least `1 / (1.25 limit)` apart (the `:pace` key holds the
  next free slot), so a campaign's start is spread over most of the second instead of arriving
  as one burst. Spaced a little closer than the limit so that a slot the window delayed is made
  up by the next ones; at exactly `1 / limit` every delay was kept by all later slots (measured:
  74.7/s instead of 77.3/s at 80/s).
- Slots can be reserved ahead (`reserve_many`, one Redis call for a chunk, at most `max_wait`
  ahead): a reserved slot counts as in flight from then on, so the proof holds for it too.
  A slot given back unused (`cancel`) is removed: no request left for it.
- A worker that dies mid-send leaves its entry at its deadline (`hold`, default 30 s): the
  number loses one unit of its budget until then, never the guarantee.
- Headroom: Meta counts inbound and outbound messages of every kind against the cap, so the
  limiter hands out `limit = floor(tier * (1 - WHATSAPP_RATE_LIMIT_RESERVED_SHARE))` (default
  share 0.1: 72 of 80, 900 of 1,000), the rest left for inbound traffic and live replies sent
  outside this pipeline. A deployment whose numbers only send campaigns may set the share to 0.
- Tier: the rate is read per batch through `number_messages_per_second` (80 standard, 1,000
  after Meta's upgrade, 20 for numbers shared with the WhatsApp Business app).
- A 130429 from Meta means the number is over its cap anyway (other traffic): `pause` pushes
  the next slot back for every worker.
- A caller that would have to wait longer than `max_wait` gets no reservation (nothing moves)
  and is told roughly how long to come back after: the task re-schedules itself instead of
  holding a worker thread asleep.

Pair rate (131056, one business number to one user): `PairBackoff` blocks the pair for 4^n
seconds (1, 4, 16 ... capped), n counting the pair's recent 131056s, in Redis shared by workers.

Keys are `whatsapp:ratelimit:<phone_number_id>` (+ `:pace`, `:seq`) and
`whatsapp:pair:<phone_number_id>:<recipient>`. Meta's phone_number_id is globally unique (the
routing table's unique index), so tenants cannot collide or read each other's budget.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

import redis
from django.conf import settings

from saas_platform.metrics import limiter_waits_observe

KEY_PREFIX = "whatsapp:ratelimit:"
PAIR_KEY_PREFIX = "whatsapp:pair:"
# Meta's fixed throughput of numbers shared with the WhatsApp Business app (coexistence).
COEXISTENCE_MESSAGES_PER_SECOND = 20
SECOND_US = 1_000_000
# Slots are spaced 1 / (limit * PACE_CATCH_UP) apart, a little closer than the limit: a slot
# the window delayed (a slow answer a second earlier) is made up by the next ones, instead of
# every later slot keeping the delay. The window alone bounds any second to `limit`.
# Measured (benchmarks/campaign_run.py, 5,000 recipients at 80/s): 1.0 gave 74.7/s, 1.1 75.8,
# 1.25 77.3, 1.5 77.6, 3 77.4; 1.25 keeps a campaign's first second spread over 0.8 s.
PACE_CATCH_UP = 1.25
DEFAULT_HOLD = 30.0  # seconds an unanswered request counts (a dead worker's slot comes back)

# KEYS = window zset, pace key, seq key; ARGV = limit, interval_us, max_wait_us, count, hold_us.
# Reserves up to `count` slots at most max_wait ahead. Returns {first_seq, wait_us...}: members
# are first_seq, first_seq + 1, ... (one per wait). Nothing granted: {-1, retry_in_us}.
# Microsecond integers: Lua numbers are doubles, exact far beyond 2^53 µs.
_RESERVE_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local limit = tonumber(ARGV[1])
local interval = tonumber(ARGV[2])
local max_wait = tonumber(ARGV[3])
local count = tonumber(ARGV[4])
local hold = tonumber(ARGV[5])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - 1000000)
local tat = tonumber(redis.call('GET', KEYS[2]) or '0')
if tat < now then tat = now end
local n = redis.call('ZCARD', KEYS[1])
local seq = redis.call('INCRBY', KEYS[3], count) - count + 1
local out = {seq}
local last = now
for i = 1, count do
  local slot = tat
  local by_window = false
  local k = n - limit + 1
  if k >= 1 then
    local e = tonumber(redis.call('ZRANGE', KEYS[1], k - 1, k - 1, 'WITHSCORES')[2])
    if e + 1000000 > slot then slot = e + 1000000; by_window = true end
  end
  if slot - now > max_wait then
    if i == 1 then
      -- the counter must outlive every member it named (unique members in the window)
      redis.call('PEXPIRE', KEYS[3], math.floor((max_wait + hold) / 1000) + 60000)
      local retry = slot - now
      if by_window and retry > 1000000 then retry = 1000000 end
      return {-1, retry}
    end
    break
  end
  redis.call('ZADD', KEYS[1], slot + hold, tostring(seq + i - 1))
  n = n + 1
  out[#out + 1] = slot - now
  tat = slot + interval
  last = slot + hold
end
redis.call('SET', KEYS[2], string.format('%d', tat), 'PX', math.floor((tat - now) / 1000) + 60000)
redis.call('PEXPIRE', KEYS[1], math.floor((last - now) / 1000) + 2000)
redis.call('PEXPIRE', KEYS[3], math.floor((last - now) / 1000) + 60000)
return out
"""

# KEYS[1] = window zset; ARGV = member, age_us, member, age_us ... Each release time becomes
# now - age (never later than it was): the answer came back `age` before this call (measured by
# the caller's monotonic clock, so the estimate is never earlier than the answer itself).
_RELEASE_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
for i = 1, #ARGV, 2 do
  redis.call('ZADD', KEYS[1], 'XX', 'LT', now - tonumber(ARGV[i + 1]), ARGV[i])
end
return #ARGV / 2
"""

# KEYS[1] = pace key; ARGV = pause_us. Moves the next slot at least pause_us into the future.
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
    """`granted`: a slot is reserved `wait` seconds from now, under `member` in the number's
    window (give it to `release` once the request was answered, or to `cancel` if it never
    left). Otherwise nothing was reserved and `wait` is roughly when to come back."""

    granted: bool
    wait: float
    at: float = field(default_factory=time.monotonic)  # when the answer was given
    member: str = ""

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


def shared_key(name: str) -> str:
    """A Redis key for state shared by every worker, under the deployment's prefix."""
    return _key(name)


def shared_redis() -> redis.Redis:
    """The process's client of the Redis that holds state shared by every worker (REDIS_URL)."""
    return _redis()


def effective_limit(*, messages_per_second: float, reserved_share: float) -> int:
    """Requests a second the limiter hands out: the tier less the share kept for inbound
    traffic and live replies (at least 1)."""
    share = min(max(reserved_share, 0.0), 0.99)
    return max(1, math.floor(messages_per_second * (1 - share) + 1e-9))


class SendRateLimiter:
    """The shared budget of one phone number (see the module docstring)."""

    def __init__(
        self,
        *,
        phone_number_id: str,
        messages_per_second: float,
        headroom: float | None = None,
        hold: float = DEFAULT_HOLD,
        client: redis.Redis | None = None,
    ) -> None:
        """`headroom`: the share of the tier handed out (default
        `1 - WHATSAPP_RATE_LIMIT_RESERVED_SHARE`); `hold`: seconds an unanswered request
        counts against the window."""
        if messages_per_second <= 0:
            raise ValueError("messages_per_second must be positive")
        if headroom is None:
            headroom = 1.0 - float(getattr(settings, "WHATSAPP_RATE_LIMIT_RESERVED_SHARE", 0.1))
        self.phone_number_id = phone_number_id
        self.tier = messages_per_second
        self.limit = effective_limit(
            messages_per_second=messages_per_second, reserved_share=1.0 - headroom
        )
        self.hold = hold
        self.key = _key(KEY_PREFIX + phone_number_id)
        self.pace_key = self.key + ":pace"
        self.seq_key = self.key + ":seq"
        self._redis = client or _redis()
        self._reserve = self._redis.register_script(_RESERVE_LUA)
        self._release = self._redis.register_script(_RELEASE_LUA)
        self._pause = self._redis.register_script(_PAUSE_LUA)

    @property
    def interval(self) -> float:
        """The smallest spacing of two slots, in seconds."""
        return self._interval_us / SECOND_US

    @property
    def _interval_us(self) -> int:
        return max(1, round(SECOND_US / (self.limit * PACE_CATCH_UP)))

    def reserve(self, *, max_wait: float) -> Reservation:
        """Reserve the number's next send slot if it is at most `max_wait` seconds away."""
        return self.reserve_many(count=1, max_wait=max_wait)[0]

    def reserve_many(self, *, count: int, max_wait: float) -> list[Reservation]:
        """Reserve up to `count` slots at most `max_wait` seconds away, in one Redis call.
        Returns one granted Reservation per slot, in order, or a single not-granted one whose
        `wait` says when to come back."""
        answer = self._reserve(
            keys=[self.key, self.pace_key, self.seq_key],
            args=[
                self.limit,
                self._interval_us,
                max(0, round(max_wait * SECOND_US)),
                max(1, count),
                round(self.hold * SECOND_US),
            ],
        )
        at = time.monotonic()
        first = int(answer[0])
        if first < 0:
            limiter_waits_observe(waits=[], refused=True)
            return [Reservation(granted=False, wait=int(answer[1]) / SECOND_US, at=at)]
        granted = [
            Reservation(granted=True, wait=int(wait) / SECOND_US, at=at, member=str(first + i))
            for i, wait in enumerate(answer[1:])
        ]
        limiter_waits_observe(waits=[r.wait for r in granted], refused=False)
        return granted

    def release(
        self, reservations: Iterable[Reservation], *, answered_at: Iterable[float] | None = None
    ) -> None:
        """The requests of these slots were answered: they count for one more second from their
        answer. `answered_at`: each answer's time.monotonic() (default: now), so that a release
        sent a few milliseconds late (gathered with others) does not hold the slot longer."""
        slots = list(reservations)
        now = time.monotonic()
        times = list(answered_at) if answered_at is not None else [now] * len(slots)
        args: list[object] = []
        for slot, at in zip(slots, times, strict=True):
            if slot.granted and slot.member:
                args += [slot.member, max(0, round((now - at) * SECOND_US))]
        if args:
            self._release(keys=[self.key], args=args)

    def cancel(self, reservations: Iterable[Reservation]) -> None:
        """These slots were not used (no request left): give them back."""
        members = [r.member for r in reservations if r.granted and r.member]
        if members:
            self._redis.zrem(self.key, *members)

    def pause(self, *, seconds: float) -> float:
        """Push the number's next slot `seconds` further out for every worker (Meta said
        130429). Returns how far away the next slot now is, in seconds."""
        pushed = self._pause(keys=[self.pace_key], args=[max(1, round(seconds * SECOND_US))])
        return int(pushed) / SECOND_US

    def acquire(self, *, max_wait: float) -> Reservation:
        """Reserve a slot and sleep until it; returns the reservation (not granted: no sleep).
        Release it once the request was answered."""
        reservation = self.reserve(max_wait=max_wait)
        reservation.sleep_until_slot()
        return reservation

    def reset(self) -> None:
        """Forget the number's window and schedule (tests and benchmarks)."""
        self._redis.delete(self.key, self.pace_key, self.seq_key)


def number_messages_per_second(number: object) -> int:
    """The number's current throughput tier in messages per second (Meta's cap, both directions).

    The one place the rate is read: a coexistence number (shared with the WhatsApp Business
    app) is fixed at 20/s; otherwise the tier Meta last reported (a `throughput` field, when the
    number has one, set from `phone_number_quality_update` webhooks), else
    PhoneNumber.messages_per_second, else WHATSAPP_DEFAULT_MESSAGES_PER_SECOND.
    https://developers.facebook.com/documentation/business-messaging/whatsapp/throughput
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
