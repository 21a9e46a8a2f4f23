"""The shared webhook endpoint's answers: verification, signatures, size bounds, durable store.

Django test client against the public host with the `db` fixture (rolled back; on_commit
callbacks never run, so nothing is enqueued). The same paths over real HTTP with a worker are in
test_pipeline_http.py.
"""

from __future__ import annotations

import hashlib
import logging

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tenants.models import RawWebhookEvent
from tests.inbound.conftest import encode, load, signed_headers
from whatsapp.webhooks.process import webhook_batch_process

URL = "/webhooks/whatsapp/"


def _post(client, body: bytes, headers: dict[str, str] | None = None):
    headers = signed_headers(body) if headers is None else headers
    extra = {"HTTP_" + k.upper().replace("-", "_"): v for k, v in headers.items()}
    extra.pop("HTTP_CONTENT_TYPE", None)
    return client.generic("POST", URL, data=body, content_type="application/json", **extra)


# --- GET verification ---------------------------------------------------------------------
def test_verification_echoes_the_challenge_as_plain_text(public_client, settings, db):
    response = public_client.get(
        URL,
        {
            "hub.mode": "subscribe",
            "hub.verify_token": settings.WHATSAPP_VERIFY_TOKEN,
            "hub.challenge": "1158201444",
        },
    )
    assert response.status_code == 200
    assert response.content == b"1158201444"
    assert response["Content-Type"].startswith("text/plain")


def test_verification_keeps_a_non_numeric_challenge_verbatim(public_client, settings, db):
    response = public_client.get(
        URL,
        {
            "hub.mode": "subscribe",
            "hub.verify_token": settings.WHATSAPP_VERIFY_TOKEN,
            "hub.challenge": "abc-ü_01",
        },
    )
    assert response.status_code == 200
    assert response.content.decode() == "abc-ü_01"


@pytest.mark.parametrize(
    "params",
    [
        {"hub.mode": "subscribe", "hub.verify_token": "wrong", "hub.challenge": "1"},
        {
            "hub.mode": "unsubscribe",
            "hub.verify_token": "sandbox-verify-token",
            "hub.challenge": "1",
        },
        {"hub.challenge": "1"},
        {},
    ],
)
def test_verification_refuses_with_403_and_a_warning(public_client, params, caplog, db):
    with caplog.at_level(logging.WARNING, logger="whatsapp.webhooks.views"):
        response = public_client.get(URL, params)
    assert response.status_code == 403
    assert b"1" not in response.content
    assert "verification refused" in caplog.text
    assert "sandbox-verify-token" not in caplog.text


# --- POST: signatures and bounds ------------------------------------------------------------
def test_signed_post_is_stored_durably_and_acknowledged(public_client, db):
    body = encode(load("message_text"))
    response = _post(public_client, body)
    assert response.status_code == 200
    event = RawWebhookEvent.objects.get()
    assert bytes(event.body) == body
    assert event.body_sha256 == hashlib.sha256(body).hexdigest()
    assert event.state == RawWebhookEvent.State.RECEIVED
    assert event.deliveries == 1
    assert event.headers["X-Hub-Signature-256"].startswith("sha256=")
    assert event.received_at is not None


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-Hub-Signature-256": ""},
        {"X-Hub-Signature-256": "sha256="},
        {"X-Hub-Signature-256": "sha1=0123"},
        {"X-Hub-Signature-256": "sha256=" + "0" * 64},
        {"X-Hub-Signature-256": "not a signature"},
    ],
)
def test_unsigned_or_badly_signed_post_is_refused_and_stored_nowhere(public_client, headers, db):
    response = _post(public_client, encode(load("message_text")), headers=headers)
    assert response.status_code == 403
    assert not RawWebhookEvent.objects.exists()


def test_signature_with_another_secret_is_refused(public_client, db):
    body = encode(load("message_text"))
    response = _post(public_client, body, headers=signed_headers(body, secret="other-app-secret"))
    assert response.status_code == 403
    assert not RawWebhookEvent.objects.exists()


def test_signature_covers_the_raw_bytes_not_the_parsed_json(public_client, db):
    """Meta escapes non-ASCII (`\\u00e1`); a body re-encoded as UTF-8 has another signature."""
    payload = load("message_text")
    escaped = encode(payload)
    assert b"\\u00e1" in escaped or b"\\u" in escaped
    utf8 = escaped.decode("unicode_escape").encode()
    response = _post(public_client, utf8, headers=signed_headers(escaped))
    assert response.status_code == 403
    assert _post(public_client, escaped).status_code == 200


def test_redelivered_body_is_stored_once_and_counted(public_client, db):
    body = encode(load("message_text"))
    for _ in range(3):
        assert _post(public_client, body).status_code == 200
    event = RawWebhookEvent.objects.get()
    assert event.deliveries == 3


def test_valid_signature_with_invalid_json_is_kept_as_malformed_not_500(public_client, db):
    """Acknowledged and stored as received (the request does not parse); the worker's batch
    marks each MALFORMED with the parser's error, once, and never claims it again."""
    for body in (b"{not json", b"\xff\xfe\x00", b""):
        response = _post(public_client, body)
        assert response.status_code == 200
    events = RawWebhookEvent.objects.all()
    assert events.count() == 3
    assert {e.state for e in events} == {RawWebhookEvent.State.RECEIVED}
    assert webhook_batch_process().events == 3
    events = RawWebhookEvent.objects.all()
    assert {e.state for e in events} == {RawWebhookEvent.State.MALFORMED}
    assert all(e.error.startswith("invalid JSON") and e.attempts == 0 for e in events)
    assert webhook_batch_process().events == 0


def test_body_over_the_limit_is_refused_with_413(public_client, settings, db):
    settings.WHATSAPP_WEBHOOK_MAX_BODY_BYTES = 1024
    body = encode({"object": "whatsapp_business_account", "entry": [], "pad": "x" * 2048})
    response = _post(public_client, body)
    assert response.status_code == 413
    assert not RawWebhookEvent.objects.exists()
    small = encode(load("message_text"))
    assert len(small) <= 1024
    assert _post(public_client, small).status_code == 200


def test_other_methods_are_not_allowed(public_client, db):
    assert public_client.put(URL, b"{}").status_code == 405
    assert public_client.delete(URL).status_code == 405


def test_the_endpoint_does_not_read_tenant_data(public_client, org_a, db):
    """Answering writes the public raw-event table only: no routing lookup, no tenant schema.
    (django-tenants' middleware still resolves the host to the public tenant first.)"""
    body = encode(load("message_text"))
    with CaptureQueriesContext(connection) as queries:
        assert _post(public_client, body).status_code == 200
    sql = " ".join(q["sql"] for q in queries.captured_queries)
    assert "tenants_rawwebhookevent" in sql
    for table in ("tenants_phonenumber", "tenants_webhookchange", "whatsapp_", org_a.schema):
        assert table not in sql


def test_the_endpoint_is_only_on_the_public_host(tenant_client, org_a, db):
    body = encode(load("message_text"))
    client = tenant_client(org_a)
    response = _post(client, body)
    assert response.status_code == 404
    assert not RawWebhookEvent.objects.exists()
