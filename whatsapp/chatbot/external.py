"""The organization's external bot: we POST the normalized inbound message, signed, and take
its synchronous answer; failures are retried with backoff and every attempt is in the delivery
log (`ExternalBotDelivery`, `GET /api/v1/chatbot/deliveries/`).

Request: `POST <external_bot_url>`, `Content-Type: application/json`, body
`{"delivery_id", "message": {"wamid", "type", "text", "interactive_id", "from", "contact_id",
"phone_number_id", "timestamp"}}`, header `X-Chatbot-Signature: sha256=<hex>` = HMAC-SHA256 of
the raw body with the organization's secret (as Meta signs its webhooks:
https://developers.facebook.com/docs/graph-api/webhooks/getting-started#validate-payloads).
Answer (2xx, within `external_bot_timeout_seconds`): `{"replies": [{"type": "text", "text":
{"body": "..."}}, ...], "handoff": false}` (each reply in the send API's shape); an empty body
or no `replies` is fine: the bot may answer later through `POST /api/v1/messages/send/`.
Timeouts, connection errors, 408/429 and 5xx are retried (`CHATBOT_EXTERNAL_MAX_ATTEMPTS`,
exponential backoff from `CHATBOT_EXTERNAL_RETRY_BASE_DELAY` s); other answers fail at once.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from typing import Any

import httpx
from django.conf import settings as django_settings
from django.db import transaction
from django.utils import timezone

from whatsapp.chatbot.engine import Reply
from whatsapp.chatbot.models import ExternalBotDelivery
from whatsapp.chatbot.replies import replies_send
from whatsapp.chatbot.services import (
    conversation_takeover,
    incoming_of,
    settings_get,
    settings_secret,
)

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Chatbot-Signature"
MAX_REPLIES = 5


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _body(delivery: ExternalBotDelivery) -> bytes:
    message = delivery.turn.message
    incoming = incoming_of(message)
    payload = {
        "delivery_id": delivery.pk,
        "message": {
            "wamid": message.wamid,
            "type": message.type,
            "text": incoming.text,
            "interactive_id": incoming.interactive_id,
            "from": message.contact.address,
            "contact_id": message.contact_id,
            "phone_number_id": message.phone_number_id,
            "timestamp": message.timestamp.isoformat(),
        },
    }
    return json.dumps(payload, separators=(",", ":")).encode()


def _replies(answer: Any) -> tuple[tuple[Reply, ...], bool]:
    if not isinstance(answer, dict):
        raise ValueError("answer is not a JSON object")
    replies = []
    for item in (answer.get("replies") or [])[:MAX_REPLIES]:
        kind = str(item.get("type") or "text")
        content = item.get(kind)
        if kind == "text" and isinstance(content, str):
            content = {"body": content}
        if not isinstance(content, dict):
            raise ValueError(f"reply of type {kind} has no {kind} object")
        replies.append(Reply(kind, content))
    return tuple(replies), bool(answer.get("handoff"))


def external_bot_deliver(*, delivery_id: int) -> float | None:
    """One attempt of a delivery. Returns the delay (s) before the next attempt, or None when
    the delivery is settled (succeeded or failed for good)."""
    delivery = (
        ExternalBotDelivery.objects.select_related("turn__message__contact")
        .filter(pk=delivery_id, state=ExternalBotDelivery.State.PENDING)
        .first()
    )
    if delivery is None:
        return None
    settings = settings_get()
    body = _body(delivery)
    headers = {"Content-Type": "application/json"}
    secret = settings_secret(settings)
    if secret:
        headers[SIGNATURE_HEADER] = signature(secret, body)
    status_code: int | None = None
    try:  # no transaction or lock is held during the call
        response = httpx.post(
            delivery.url,
            content=body,
            headers=headers,
            timeout=settings.external_bot_timeout_seconds,
            follow_redirects=False,
        )
        status_code = response.status_code
        response.raise_for_status()
        replies, handoff = _replies(response.json()) if response.content.strip() else ((), False)
    except (httpx.HTTPError, ValueError) as exc:
        retryable = status_code is None or status_code in (408, 429) or status_code >= 500
        return _failed(delivery, status_code=status_code, error=exc, retryable=retryable)
    with transaction.atomic():
        delivery = ExternalBotDelivery.objects.select_for_update().get(pk=delivery.pk)
        if delivery.state != ExternalBotDelivery.State.PENDING:
            return None
        turn = delivery.turn
        contact = turn.message.contact
        sent = replies_send(turn=turn, replies=replies, contact=contact, key="x")
        if handoff:
            conversation_takeover(
                contact=contact, phone_number_id=turn.message.phone_number_id, reason="external_bot"
            )
        delivery.attempts += 1
        delivery.state = ExternalBotDelivery.State.SUCCEEDED
        delivery.last_status_code = status_code
        delivery.last_error = ""
        delivery.replies = sent
        delivery.handoff = handoff
        delivery.next_attempt_at = None
        delivery.save()
    logger.info("external bot delivery %s: %d replies, handoff=%s", delivery.pk, sent, handoff)
    return None


def _failed(
    delivery: ExternalBotDelivery, *, status_code: int | None, error: Exception, retryable: bool
) -> float | None:
    max_attempts = django_settings.CHATBOT_EXTERNAL_MAX_ATTEMPTS
    base = django_settings.CHATBOT_EXTERNAL_RETRY_BASE_DELAY
    with transaction.atomic():
        delivery = ExternalBotDelivery.objects.select_for_update().get(pk=delivery.pk)
        if delivery.state != ExternalBotDelivery.State.PENDING:
            return None
        delivery.attempts += 1
        delivery.last_status_code = status_code
        delivery.last_error = f"{type(error).__name__}: {error}"[:255]
        delay = None
        if retryable and delivery.attempts < max_attempts:
            delay = min(base * 2 ** (delivery.attempts - 1), 3600.0)
            delivery.next_attempt_at = timezone.now() + timezone.timedelta(seconds=delay)
        else:
            delivery.state = ExternalBotDelivery.State.FAILED
            delivery.next_attempt_at = None
        delivery.save()
    logger.warning(
        "external bot delivery %s attempt %d failed: status=%s error=%s",
        delivery.pk,
        delivery.attempts,
        status_code,
        type(error).__name__,
    )
    return delay
