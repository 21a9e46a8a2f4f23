"""Receiving a webhook: subscription check, signature over the raw bytes, durable store."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django_tenants.utils import schema_context

from tenants.models import RawWebhookEvent

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "HTTP_X_HUB_SIGNATURE_256"
# Request headers kept beside the body (for support and replay forensics); never credentials.
KEPT_HEADERS = {
    "CONTENT_TYPE": "Content-Type",
    "CONTENT_LENGTH": "Content-Length",
    SIGNATURE_HEADER: "X-Hub-Signature-256",
    "HTTP_USER_AGENT": "User-Agent",
    "HTTP_X_FORWARDED_FOR": "X-Forwarded-For",
    "REMOTE_ADDR": "Remote-Addr",
}


# --- Verification (GET) and signature (POST) ----------------------------------------------------
def verify_subscription(*, mode: str | None, token: str | None) -> bool:
    """True for Meta's `hub.mode=subscribe` with our verify token (constant-time, §2)."""
    expected = settings.WHATSAPP_VERIFY_TOKEN
    if mode != "subscribe" or not token or not expected:
        return False
    return hmac.compare_digest(token.encode(), expected.encode())


def signature_valid(*, body: bytes, header: str | None, secret: str | None = None) -> bool:
    """True when `header` is `sha256=<hex HMAC-SHA256 of body keyed with the app secret>` (§3)."""
    secret = settings.WHATSAPP_APP_SECRET if secret is None else secret
    if not header or not secret:
        return False
    prefix, _, received = header.strip().partition("=")
    if prefix.lower() != "sha256" or not received:
        return False
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), received.strip().lower().encode())


def sign_body(body: bytes, secret: str | None = None) -> str:
    """The `X-Hub-Signature-256` value Meta would send for `body` (tests and benchmarks)."""
    secret = settings.WHATSAPP_APP_SECRET if secret is None else secret
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


# --- Durable raw store ----------------------------------------------------------------------
@dataclass(frozen=True)
class StoredEvent:
    id: int
    created: bool
    state: str


def _kept_headers(meta: dict[str, Any]) -> dict[str, str]:
    return {name: str(meta[key])[:500] for key, name in KEPT_HEADERS.items() if meta.get(key)}


def raw_event_store(*, body: bytes, meta: dict[str, Any]) -> StoredEvent:
    """Store a signed POST durably, once per distinct body; enqueue its routing after commit.

    A redelivered identical body increments `deliveries` on the existing row (one atomic
    INSERT ... ON CONFLICT, no check-then-insert race). A body that is not JSON is kept as
    MALFORMED and never routed. Needs no tenant data: it writes one public-schema row.
    """
    digest = hashlib.sha256(body).hexdigest()
    state = RawWebhookEvent.State.RECEIVED
    error = ""
    try:
        json.loads(body)
    except ValueError as exc:  # UnicodeDecodeError is a ValueError too
        state = RawWebhookEvent.State.MALFORMED
        error = f"invalid JSON: {exc}"[:500]
    table = connection.ops.quote_name(RawWebhookEvent._meta.db_table)
    with transaction.atomic():
        with connection.cursor() as cursor:
            # `xmax = 0` is true only for a freshly inserted row (PostgreSQL idiom).
            cursor.execute(
                f"INSERT INTO public.{table} "  # noqa: S608 - table name from model meta
                "(body, body_sha256, headers, state, error, received_at, deliveries) "
                "VALUES (%s, %s, %s, %s, %s, now(), 1) "
                "ON CONFLICT (body_sha256) DO UPDATE SET deliveries = "
                f"{table}.deliveries + 1 "
                "RETURNING id, (xmax = 0), state",
                [body, digest, json.dumps(_kept_headers(meta)), state, error],
            )
            event_id, created, current_state = cursor.fetchone()
        if current_state == RawWebhookEvent.State.RECEIVED:
            # Also on a redelivery: if the first enqueue was lost (broker down, crash after
            # commit) Meta's retry routes it; routing is idempotent. `robust`: the event is
            # stored, so a broker failure must not turn the acknowledgement into a 500.
            transaction.on_commit(lambda: _enqueue_route(event_id), robust=True)
    logger.info(
        "webhook stored: event_id=%s created=%s state=%s bytes=%d",
        event_id,
        created,
        current_state,
        len(body),
    )
    return StoredEvent(id=event_id, created=created, state=current_state)


def _enqueue_route(event_id: int) -> None:
    from tenants.tasks.webhooks import webhook_event_route_task

    with schema_context(settings.PUBLIC_SCHEMA_NAME):
        webhook_event_route_task.delay(event_id)
