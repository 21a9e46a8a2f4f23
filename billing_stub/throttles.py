"""The plan's `api_requests_per_minute`: a DRF throttle counting every API request of an
organization (any key, any user, any process) in fixed one-minute windows in Redis.

Over the limit the request is refused with QuotaExceeded (HTTP 429, `Retry-After` the seconds
to the next window; whatsapp.api.exceptions). Fixed windows let a client make up to twice the
limit across a window boundary (a burst at the end of one minute and the start of the next):
cheap (one INCR per request) and enough for a plan limit. If Redis cannot be reached the
request is let through (logged): the API does not go down with the counter.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass

import redis
from django.conf import settings
from rest_framework.throttling import BaseThrottle

from billing_stub.quota import QuotaExceeded, raisable

logger = logging.getLogger(__name__)
LIMIT = "api_requests_per_minute"
_clients: dict[str, redis.Redis] = {}
_clock = time.time  # seconds since the epoch (tests pin it to one window)


@raisable
@dataclass(frozen=True)
class ApiRateExceeded(QuotaExceeded):
    """QuotaExceeded for `api_requests_per_minute`, with the seconds until the next window
    (the response's `Retry-After`)."""

    retry_after: int = 60


def _redis() -> redis.Redis:
    url = settings.REDIS_URL
    client = _clients.get(url)
    if client is None:
        client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        _clients[url] = client
    return client


def api_request_count(*, organization_id: int, now: float | None = None) -> tuple[int, int]:
    """Count one request of the organization in the current minute; returns (count so far in
    this window including this one, seconds until the window ends)."""
    now = _clock() if now is None else now
    window = int(now // 60)
    key = f"{getattr(settings, 'REDIS_KEY_PREFIX', '')}billing:api:{organization_id}:{window}"
    pipe = _redis().pipeline()
    pipe.incr(key)
    pipe.expire(key, 120)
    count, _ = pipe.execute()
    return int(count), (window + 1) * 60 - int(now)


class PlanRateThrottle(BaseThrottle):
    """Refuses an organization's API request past its plan's requests per minute."""

    def allow_request(self, request, view) -> bool:
        tenant = getattr(request, "tenant", None)
        if tenant is None or getattr(tenant, "is_public", True):
            return True
        if not getattr(settings, "BILLING_ENFORCEMENT", True):
            return True
        from billing_stub.services.subscriptions import subscription_for

        allowed = subscription_for(organization_id=tenant.pk).plan.api_requests_per_minute
        if allowed is None:
            return True
        try:
            count, wait = api_request_count(organization_id=tenant.pk)
        except redis.RedisError as exc:
            logger.warning("API rate counter unavailable, request allowed: %s", exc)
            return True
        if count > allowed:
            resets = dt.datetime.fromtimestamp(_clock() + wait, tz=dt.UTC).replace(microsecond=0)
            raise ApiRateExceeded(
                limit=LIMIT, used=count - 1, allowed=allowed, resets_at=resets, retry_after=wait
            )
        return True
