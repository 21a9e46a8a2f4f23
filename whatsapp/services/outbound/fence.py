"""The wire fence: which claimed sends may have reached Meta, and which certainly did not.

A claimed row (`sending`, committed before any Meta call) is not yet a request: the sender pool
sleeps until the row's limiter slot, up to `WHATSAPP_RATE_LIMIT_MAX_WAIT` later. A worker killed
in between leaves `sending` rows Meta never heard of. Meta has no idempotency key, so a
`sending` row may only be sent again when it is *certain* that no request for it was written.
The fence makes that certain, with one Redis key per claim (`<client_reference>:<attempt>`):

- the task's thread sets the keys of a chunk to `claimed` (one pipelined call, where missing)
  just before the chunk's claim, so that no claimed row lacks its key even if the worker dies
  while the claim's UPDATE is answered;
- the pool thread sets its key to `posted` immediately before writing the request, unless the
  key says `revoked` (then, or when Redis did not answer, it writes nothing);
- recovery (`messages_reclaim_unposted`) turns a `claimed` key into `revoked` for a row claimed
  a while ago, and returns the row to `queued` only where that happened.

Both transitions are Lua scripts, atomic in Redis, so exactly one of them wins per claim: a row
is either possibly on the wire (`posted`: left `sending` for its status webhook, which carries
`biz_opaque_callback_data` = client_reference, or for the unconfirmed sweep) or never sent and
re-driven at once, even if its worker is alive but late (its pool thread then finds `revoked`
and sends nothing). The ambiguous set is therefore only the requests that were really being
written. A missing key is never revoked: if Redis lost its data (a restart without
persistence), a claim may have been posted, so its row waits for its status webhook or the
unconfirmed sweep, as every `sending` row did before the fence existed. At-most-once holds
whatever Redis keeps.

A key lives `WHATSAPP_SEND_UNCONFIRMED_AFTER` + `FENCE_MARGIN` seconds (recovery looks only at
rows claimed within that span) and is deleted once the row's answer is stored.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.conf import settings

from whatsapp.services.ratelimit import shared_key, shared_redis

KEY_PREFIX = "whatsapp:wire:"
CLAIMED = "claimed"
POSTED = "posted"
REVOKED = "revoked"
# Seconds a fence key outlives WHATSAPP_SEND_UNCONFIRMED_AFTER.
FENCE_MARGIN = 3600

# KEYS = fence keys; ARGV = ttl_seconds. Each `claimed` key becomes "revoked"; returns every
# key's value afterwards (false for a missing key).
_REVOKE_LUA = """
local out = {}
for i = 1, #KEYS do
  local v = redis.call('GET', KEYS[i])
  if v == 'claimed' then
    redis.call('SET', KEYS[i], 'revoked', 'EX', tonumber(ARGV[1]))
    v = 'revoked'
  end
  out[i] = v
end
return out
"""


def fence_key(*, client_reference: object, attempt: int) -> str:
    """The fence key of one claim of one message (its attempt number names the claim)."""
    return shared_key(f"{KEY_PREFIX}{client_reference}:{attempt}")


def fence_ttl() -> int:
    """Seconds a fence key lives (longer than any row stays `sending` before it is settled)."""
    return int(settings.WHATSAPP_SEND_UNCONFIRMED_AFTER) + FENCE_MARGIN


# KEYS[1] = a fence key; ARGV = ttl_seconds. A `claimed` key is set to "posted" (a missing key
# too: Redis lost it, and recovery never revokes a missing key); returns 1 if this call set it,
# 0 otherwise (`revoked`, or already `posted`: a claim has one request).
_ENTER_LUA = """
local v = redis.call('GET', KEYS[1])
if v == 'revoked' or v == 'posted' then
  return 0
end
redis.call('SET', KEYS[1], 'posted', 'EX', tonumber(ARGV[1]))
return 1
"""


def fence_claim_many(keys: Sequence[str]) -> None:
    """Mark rows about to be claimed `claimed` (one pipelined call, `SET NX`: a key that already
    says `posted` or `revoked` keeps its word), before their claim commits and so before any of
    their requests can be written. Raises redis.RedisError."""
    if not keys:
        return
    pipe = shared_redis().pipeline(transaction=False)
    for key in keys:
        pipe.set(key, CLAIMED, nx=True, ex=fence_ttl())
    pipe.execute()


def fence_enter(key: str) -> bool:
    """Mark the claim `posted` right before its request is written: True when this call set it
    (the caller may write the request), False when recovery revoked the claim first or it was
    already posted (write nothing). Raises redis.RedisError when Redis does not answer (write
    nothing either)."""
    script = shared_redis().register_script(_ENTER_LUA)
    return bool(script(keys=[key], args=[fence_ttl()]))


def fence_revoke(keys: Sequence[str]) -> list[bool]:
    """Revoke these claims where no request was posted, in one Redis call: True for each key
    that said `claimed` and now says `revoked` (no request was or will be written for it),
    False where a request may have left (`posted`) or the key is missing (never marked, or lost
    with Redis's data: unknown, so never taken back)."""
    if not keys:
        return []
    script = shared_redis().register_script(_REVOKE_LUA)
    values = script(keys=list(keys), args=[fence_ttl()])
    return [(v.decode() if isinstance(v, bytes) else v) == REVOKED for v in values]


def fence_forget(keys: Sequence[str]) -> None:
    """Drop the keys of claims whose outcome is stored (the row left `sending`)."""
    if keys:
        shared_redis().unlink(*keys)
