"""Webhook worker heartbeats: which `manage.py webhook_worker` processes are alive.

Celery workers answer a broker ping; the webhook workers are plain processes on PostgreSQL
`LISTEN`, so each one writes a short-lived Redis key (`webhook-worker:<host>:<pid>`, expiring
after `TTL_SECONDS`) every `BEAT_SECONDS` from its loop and deletes it on a clean exit. A worker
that died or hangs stops beating and drops off the console's health page within `TTL_SECONDS`.
Nothing tenant-specific is kept: a worker serves every organization.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import redis
from django.conf import settings

from whatsapp.services.ratelimit import shared_key, shared_redis

logger = logging.getLogger(__name__)

BEAT_SECONDS = 5.0
TTL_SECONDS = 30
_PATTERN = "webhook-worker:"


@dataclass(frozen=True)
class WorkerBeat:
    """One live worker: its name (`host:pid`), its last beat and events claimed since it started."""

    name: str
    beat_at: datetime
    claimed: int


def _worker_client() -> redis.Redis:
    """The worker's own client, with a shorter timeout than the shared one: a beat must never
    hold the webhook worker's loop for long while Redis is unreachable."""
    return redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2)


class Heartbeat:
    """The beat of one worker process; `beat()` is cheap to call on every loop turn.

    Redis errors are logged once per outage and never stop the worker: its work does not depend
    on being seen.
    """

    def __init__(self, *, name: str | None = None) -> None:
        self.name = name or f"{socket.gethostname()}:{os.getpid()}"
        self.key = shared_key(_PATTERN + self.name)
        self._last = 0.0
        self._failing = False
        self._redis: redis.Redis | None = None

    def beat(self, *, claimed: int, force: bool = False) -> None:
        """Write the key if `BEAT_SECONDS` passed since the last write (or `force`)."""
        now = time.monotonic()
        if not force and now - self._last < BEAT_SECONDS:
            return
        self._last = now
        value = json.dumps({"beat_at": datetime.now(UTC).isoformat(), "claimed": claimed})
        try:
            self._redis = self._redis or _worker_client()
            self._redis.set(self.key, value, ex=TTL_SECONDS)
            self._failing = False
        except redis.RedisError:
            if not self._failing:
                logger.warning("webhook worker heartbeat: Redis unreachable", exc_info=True)
            self._failing = True

    def stop(self) -> None:
        """Remove the key (a clean exit), ignoring Redis errors."""
        with contextlib.suppress(redis.RedisError):
            (self._redis or _worker_client()).delete(self.key)


def webhook_workers_alive() -> list[WorkerBeat] | None:
    """The workers whose key has not expired, by name; None when Redis cannot be asked."""
    try:
        client = shared_redis()
        keys = sorted(client.scan_iter(match=shared_key(_PATTERN) + "*", count=500))
        values = client.mget(keys) if keys else []
    except redis.RedisError:
        logger.warning("webhook worker heartbeats: Redis unreachable", exc_info=True)
        return None
    prefix = shared_key(_PATTERN).encode()
    found = []
    for key, raw in zip(keys, values, strict=True):
        if raw is None:  # expired between SCAN and MGET
            continue
        data = json.loads(raw)
        found.append(
            WorkerBeat(
                name=key.removeprefix(prefix).decode(),
                beat_at=datetime.fromisoformat(data["beat_at"]),
                claimed=int(data["claimed"]),
            )
        )
    return found
