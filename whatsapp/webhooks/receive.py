"""Receiving a webhook: subscription check, signature over the raw bytes, durable store.

Meta's pages: https://developers.facebook.com/docs/graph-api/webhooks/getting-started (verification
and `X-Hub-Signature-256`), https://developers.facebook.com/docs/whatsapp/cloud-api/webhooks/components
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import InterfaceError, OperationalError, connection

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
    """True for Meta's `hub.mode=subscribe` with our verify token (constant-time)."""
    expected = settings.WHATSAPP_VERIFY_TOKEN
    if mode != "subscribe" or not token or not expected:
        return False
    return hmac.compare_digest(token.encode(), expected.encode())


def signature_valid(*, body: bytes, header: str | None, secret: str | None = None) -> bool:
    """True when `header` is `sha256=<hex HMAC-SHA256 of body keyed with the app secret>`."""
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


# Workers LISTEN on this channel; the request's INSERT notifies it in the same statement.
NOTIFY_CHANNEL = "webhook_events"


def raw_event_store(*, body: bytes, meta: dict[str, Any]) -> StoredEvent:
    """Store a signed POST durably, once per distinct body, and wake the webhook workers.

    One statement, in autocommit: INSERT ... ON CONFLICT (body_sha256) DO UPDATE deliveries + 1
    (a redelivered identical body only counts), plus `pg_notify` (delivered when it commits).
    No broker publish: the row itself is the queue (`manage.py webhook_worker` claims RECEIVED
    rows). The body is not parsed here (the worker parses it once; a body that is not JSON
    becomes MALFORMED there): a signed POST is acknowledged for the cost of the HMAC and one
    statement. Needs no tenant data.
    """
    digest = hashlib.sha256(body).hexdigest()
    state = RawWebhookEvent.State.RECEIVED
    error = ""
    table = connection.ops.quote_name(RawWebhookEvent._meta.db_table)
    params = [body, digest, json.dumps(_kept_headers(meta)), state, error, NOTIFY_CHANNEL]
    try:
        row = _store_row(table, params, check_connection=False)
    except (OperationalError, InterfaceError):
        if connection.in_atomic_block:
            raise
        # A persistent connection that died (database restart, idle timeout): reconnect once.
        # Repeating the upsert is safe: at worst a delivery is counted twice.
        connection.close()
        row = _store_row(table, params, check_connection=True)
    event_id, created, current_state = row
    # DEBUG for a new event: at Meta's rates a line per POST costs more CPU than the INSERT's
    # Python side (the worker logs each batch it applies); a redelivery is worth an INFO line.
    logger.log(
        logging.DEBUG if created else logging.INFO,
        "webhook stored: event_id=%s created=%s state=%s bytes=%d",
        event_id,
        created,
        current_state,
        len(body),
    )
    return StoredEvent(id=event_id, created=created, state=current_state)


def _store_row(table: str, params: list[Any], *, check_connection: bool) -> tuple[int, bool, str]:
    """The upsert of raw_event_store: (id, created, state).

    With `check_connection=False`, Django's per-request connection health check (`SELECT 1`
    before the first query, `CONN_HEALTH_CHECKS`) is skipped: on the acknowledgement path it
    doubles the round trips and statements per POST, while a dead connection is just as well
    detected by the upsert itself failing, which the caller answers by reconnecting once.
    """
    if not check_connection:
        connection.health_check_done = True
    with connection.cursor() as cursor:
        # `xmax = 0` is true only for a freshly inserted row (PostgreSQL idiom).
        cursor.execute(
            "WITH stored AS ("  # noqa: S608 - table name from model meta
            f"INSERT INTO public.{table} "
            "(body, body_sha256, headers, state, error, received_at, deliveries, attempts) "
            "VALUES (%s, %s, %s, %s, %s, now(), 1, 0) "
            "ON CONFLICT (body_sha256) DO UPDATE SET deliveries = "
            f"{table}.deliveries + 1 "
            "RETURNING id, (xmax = 0) AS created, state) "
            "SELECT id, created, state, pg_notify(%s, '') FROM stored",
            params,
        )
        event_id, created, current_state, _ = cursor.fetchone()
    return event_id, created, current_state
