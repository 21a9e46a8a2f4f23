"""Signing and delivering webhooks to the platform, with retry and exponential backoff.

Meta signs the exact raw body with HMAC-SHA256 keyed by the app secret
(`X-Hub-Signature-256: sha256=<hex>`, Meta: webhook payload signature) and escapes non-ASCII as
`\\uXXXX`, so bodies
are encoded once with `json.dumps(..., ensure_ascii=True)` and those bytes are signed and sent.

Delivery (Meta: webhooks overview): success is HTTP 200; anything
else or a connection error is retried
after `initial_delay * factor ** (attempt - 1)` seconds, up to `max_attempts` attempts. Meta's
real schedule keeps retrying with growing delays for up to 7 days; the sandbox defaults are short
(0.2 s, x2, 8 attempts) so tests see retries quickly. Attempts run on background worker threads.

Meta pages:
- webhook payload signature: https://developers.facebook.com/docs/graph-api/webhooks/getting-started#validate-payloads
- webhooks overview: https://developers.facebook.com/documentation/business-messaging/whatsapp/webhooks/overview
"""

from __future__ import annotations

import hashlib
import heapq
import hmac
import itertools
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from whatsapp.sandbox.state import SandboxState


def encode_body(payload: dict[str, Any]) -> bytes:
    """The exact bytes Meta would send (ASCII-escaped JSON)."""
    return json.dumps(payload, ensure_ascii=True, separators=(",", ":")).encode("ascii")


def sign(body: bytes, app_secret: str) -> str:
    """The `X-Hub-Signature-256` header value for `body`."""
    return "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


@dataclass
class Delivery:
    """One webhook POST (and its retries)."""

    id: str
    body: bytes
    kind: str
    created_at: float = field(default_factory=time.time)
    state: str = "pending"  # pending | delivered | failed | skipped
    attempts: list[dict[str, Any]] = field(default_factory=list)
    first_attempt: threading.Event = field(default_factory=threading.Event)

    def summary(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "state": self.state,
            "created_at": self.created_at,
            "attempts": list(self.attempts),
            "payload": json.loads(self.body),
        }


class WebhookDispatcher:
    """A scheduled queue of deliveries served by `config.webhook_workers` threads."""

    def __init__(self, state: SandboxState) -> None:
        self.state = state
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, Delivery]] = []
        self._seq = itertools.count()
        self._deliveries: dict[str, Delivery] = {}
        self._threads: list[threading.Thread] = []
        self._stop = False
        self._http = httpx.Client(
            limits=httpx.Limits(max_connections=64, max_keepalive_connections=32)
        )

    def start(self) -> None:
        for index in range(max(1, self.state.config.webhook_workers)):
            thread = threading.Thread(
                target=self._run, name=f"sandbox-webhooks-{index}", daemon=True
            )
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        with self._cond:
            self._stop = True
            self._cond.notify_all()
        for thread in self._threads:
            thread.join(timeout=2)
        self._http.close()

    def submit(self, payload: dict[str, Any], *, delay: float = 0.0, kind: str = "messages"):
        """Queue `payload` for delivery after `delay` seconds; returns the `Delivery`."""
        delivery = Delivery(id="dlv_" + secrets.token_hex(8), body=encode_body(payload), kind=kind)
        with self._cond:
            self._deliveries[delivery.id] = delivery
            if not self.state.config.webhook_url:
                delivery.state = "skipped"
                delivery.first_attempt.set()
                return delivery
            self._schedule(delivery, time.monotonic() + delay)
        return delivery

    def deliveries(self) -> list[dict[str, Any]]:
        with self._cond:
            items = list(self._deliveries.values())
        return [d.summary() for d in items]

    def clear(self) -> None:
        """Forget recorded deliveries and drop pending ones."""
        with self._cond:
            self._deliveries.clear()
            self._heap.clear()

    def _schedule(self, delivery: Delivery, due: float) -> None:
        heapq.heappush(self._heap, (due, next(self._seq), delivery))
        self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._stop:
                    now = time.monotonic()
                    if self._heap and self._heap[0][0] <= now:
                        break
                    timeout = self._heap[0][0] - now if self._heap else None
                    self._cond.wait(timeout)
                if self._stop:
                    return
                _, _, delivery = heapq.heappop(self._heap)
                if delivery.id not in self._deliveries:
                    continue
            self._attempt(delivery)

    def _attempt(self, delivery: Delivery) -> None:
        config = self.state.config
        number = len(delivery.attempts) + 1
        status: int | None = None
        error: str | None = None
        if not config.webhook_url:
            error = "no webhook_url configured"
        else:
            headers = {
                "Content-Type": "application/json",
                "X-Hub-Signature-256": sign(delivery.body, config.app_secret),
                "User-Agent": "facebookexternalua",
            }
            try:
                response = self._http.post(
                    config.webhook_url,
                    content=delivery.body,
                    headers=headers,
                    timeout=config.webhook_timeout,
                )
                status = response.status_code
            except httpx.HTTPError as exc:
                error = f"{type(exc).__name__}: {exc}"
        with self._cond:
            delivery.attempts.append(
                {"attempt": number, "status": status, "error": error, "at": time.time()}
            )
            if status == 200:
                delivery.state = "delivered"
            elif number >= config.webhook_max_attempts:
                delivery.state = "failed"
            else:
                backoff = config.webhook_initial_delay * config.webhook_backoff_factor ** (
                    number - 1
                )
                self._schedule(delivery, time.monotonic() + backoff)
        delivery.first_attempt.set()
