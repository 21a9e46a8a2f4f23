"""The shared WhatsApp webhook endpoint of the public host: `/webhooks/whatsapp/`.

It answers from the request alone (the settings' app secret and verify token): no tenant data is
read, so a slow or broken tenant can never slow the acknowledgement Meta is timing. One SQL
statement per POST (the durable insert, which also wakes the webhook workers); no broker.
https://developers.facebook.com/docs/graph-api/webhooks/getting-started
"""

from __future__ import annotations

import logging
import time

from django.conf import settings
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from saas_platform.metrics import webhook_answered
from whatsapp.webhooks.receive import (
    SIGNATURE_HEADER,
    raw_event_store,
    signature_valid,
    verify_subscription,
)

logger = logging.getLogger(__name__)


def _text(body: str, status: int = 200) -> HttpResponse:
    return HttpResponse(body, status=status, content_type="text/plain; charset=utf-8")


@csrf_exempt  # Meta signs its POSTs with the app secret; there is no browser session here.
@require_http_methods(["GET", "POST"])
def whatsapp_webhook_view(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return _verify(request)
    started = time.perf_counter()
    response = _receive(request)
    webhook_answered(
        outcome=_OUTCOMES.get(response.status_code, str(response.status_code)),
        seconds=time.perf_counter() - started,
    )
    return response


# Metric label of each answer of `_receive` (saas_platform.metrics).
_OUTCOMES = {
    200: "accepted",
    400: "bad_request",
    403: "invalid_signature",
    413: "too_large",
    503: "unavailable",
}


def _verify(request: HttpRequest) -> HttpResponse:
    """Meta's subscription check: echo `hub.challenge` exactly, as plain text."""
    if verify_subscription(
        mode=request.GET.get("hub.mode"), token=request.GET.get("hub.verify_token")
    ):
        return _text(request.GET.get("hub.challenge", ""))
    logger.warning(
        "webhook verification refused: mode=%r remote=%s",
        (request.GET.get("hub.mode") or "")[:20],
        request.META.get("REMOTE_ADDR", "-"),
    )
    return _text("verification failed", status=403)


def _receive(request: HttpRequest) -> HttpResponse:
    limit = settings.WHATSAPP_WEBHOOK_MAX_BODY_BYTES
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return _text("invalid Content-Length", status=400)
    if declared > limit:
        # Refused on the declared size, before a byte of the body is read.
        logger.warning("webhook refused: body of %d bytes exceeds %d", declared, limit)
        return _text("payload too large", status=413)
    # `request.read`, not `request.body`: the stream is bounded by Content-Length and by `limit`,
    # and the bytes are hashed exactly as received (the signature is over the raw body).
    body = request.read(limit + 1)
    if len(body) > limit:
        return _text("payload too large", status=413)
    if not signature_valid(body=body, header=request.META.get(SIGNATURE_HEADER)):
        logger.warning(
            "webhook refused: %s signature, %d bytes, remote=%s",
            "bad" if request.META.get(SIGNATURE_HEADER) else "missing",
            len(body),
            request.META.get("REMOTE_ADDR", "-"),
        )
        return _text("invalid signature", status=403)
    try:
        raw_event_store(body=body, meta=request.META)
    except DatabaseError:
        # Not stored, so not acknowledged: Meta retries for up to 7 days.
        logger.exception("webhook not stored: database unavailable")
        return _text("temporarily unavailable", status=503)
    return _text("OK")
