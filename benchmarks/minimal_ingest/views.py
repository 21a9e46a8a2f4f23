"""The one view (and the URL conf): verify Meta's signature over the raw body, INSERT, 200.

The table is created by benchmarks/webhook_ack.py (`TABLE_SQL`): the body byte for byte and its
SHA-256, unique, so a redelivery is one row, like the product's raw event.
"""

from __future__ import annotations

import hashlib
import hmac

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.urls import path

TABLE_SQL = (
    "CREATE TABLE IF NOT EXISTS bench_minimal_ingest ("
    " id bigserial PRIMARY KEY, body_sha256 char(64) NOT NULL UNIQUE, body bytea NOT NULL,"
    " received_at timestamptz NOT NULL DEFAULT now(), deliveries int NOT NULL DEFAULT 1)"
)


def ingest(request: HttpRequest) -> HttpResponse:
    body = request.body
    expected = (
        "sha256="
        + hmac.new(settings.WHATSAPP_APP_SECRET.encode(), body, hashlib.sha256).hexdigest()
    )
    if not hmac.compare_digest(request.META.get("HTTP_X_HUB_SIGNATURE_256", ""), expected):
        return HttpResponse("invalid signature", status=403)
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO bench_minimal_ingest (body_sha256, body) VALUES (%s, %s) "
            "ON CONFLICT (body_sha256) DO UPDATE "
            "SET deliveries = bench_minimal_ingest.deliveries + 1",
            [hashlib.sha256(body).hexdigest(), body],
        )
    return HttpResponse("OK", content_type="text/plain")


urlpatterns = [path("webhooks/whatsapp/", ingest)]
