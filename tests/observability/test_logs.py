"""Structured logs (saas_platform.logs): JSON lines with tenant, request id, task id and wamid,
and never a token, a secret or a message's text, over a real webhook and a real send."""

from __future__ import annotations

import json
import logging

import pytest
import structlog
from django.conf import settings
from django.test import Client

from saas_platform.logs import REDACTED, formatter, redact, redact_text
from tests.clients import admin_client, obtain_tokens
from tests.conftest import in_tenant, wait_for
from tests.outbound.conftest import wait_final
from tests.storage.conftest import inbound_image_stored
from whatsapp.models import WhatsAppMessage

CUSTOMER = "4915123400077"


def test_secret_keys_and_message_contents_are_redacted_whatever_their_nesting():
    event = redact(
        None,
        "info",
        {
            "event": "calling Meta with Authorization: Bearer EAAabcdefghijklmnopqrstuvwxyz0123",
            "access_token": "EAAx",
            "headers": {"Authorization": "Bearer abc", "X-Hub-Signature-256": "sha256=00"},
            "items": [{"text": {"body": "hello"}}, {"caption": "a photo"}],
            "wamid": "wamid.KEEP",
            "count": 3,
        },
    )
    assert event["access_token"] == REDACTED
    assert event["headers"] == {"Authorization": REDACTED, "X-Hub-Signature-256": REDACTED}
    assert event["items"] == [{"text": REDACTED}, {"caption": REDACTED}]
    assert "EAAabc" not in event["event"] and "Bearer [redacted]" in event["event"]
    assert (event["wamid"], event["count"]) == ("wamid.KEEP", 3)


@pytest.mark.parametrize(
    "text",
    [
        "GET /v25.0/debug_token?input_token=EAAG123&access_token=EAAH456",
        "Authorization: Api-Key k3y.s3cr3t-value",
        "token EAABwzLixnjYBO0ZCZCZCZBZAZBZBZAZBZAxyz issued",
        "jwt eyJhbGciOiJIUzI1NiJ9.eyJvcmdfaWQiOiIxIn0.c2lnbmF0dXJlLXZhbHVl",
        "/webhooks/whatsapp/?hub.verify_token=sandbox-verify-token&hub.challenge=1",
        "GET /api/v1/media/link/eyJvIjoi.1xXfDQ:bQ9Vdmj/ 410",
    ],
)
def test_credentials_inside_free_text_are_masked(text):
    masked = redact_text(text)
    secrets = (
        "EAAG123",
        "EAAH456",
        "k3y.s3cr3t",
        "EAABwz",
        "eyJhbGci",
        "sandbox-verify",
        "eyJvIjoi",
    )
    for secret in secrets:
        assert secret not in masked
    assert REDACTED in masked


def test_stdlib_extras_and_structlog_values_are_rendered_as_json_with_the_tenant(log_capture):
    logging.getLogger("tests.obs").info(
        "sending %s", "now", extra={"token": "EAAsecret-extra", "message_id": 7}
    )
    with structlog.contextvars.bound_contextvars(wamid="wamid.ABC"):
        structlog.get_logger("tests.obs").warning("receipt", body="private words")
    first, second = log_capture.lines()
    assert first["event"] == "sending now" and first["message_id"] == 7
    assert first["token"] == REDACTED and first["level"] == "info" and first["tenant"]
    assert (second["wamid"], second["body"], second["logger"]) == (
        "wamid.ABC",
        REDACTED,
        "tests.obs",
    )
    assert "EAAsecret-extra" not in log_capture.text
    assert "private words" not in log_capture.text


def test_console_rendering_is_one_readable_line():
    record = logging.LogRecord("tests.obs", logging.INFO, __file__, 1, "hello %s", ("x",), None)
    line = formatter(fmt="console").format(record)
    assert "hello x" in line and "tenant=" in line and "\n" not in line
    with pytest.raises(json.JSONDecodeError):
        json.loads(line)


@pytest.mark.django_db
def test_each_request_gets_a_request_id_in_its_log_line_and_its_response(log_capture):
    client = Client(HTTP_HOST=settings.BASE_DOMAIN)
    kept = client.get("/healthz", HTTP_X_REQUEST_ID="lb-req-0123456789")
    replaced = client.get("/healthz?hub.verify_token=abc", HTTP_X_REQUEST_ID="bad id\n<script>")
    assert kept["X-Request-ID"] == "lb-req-0123456789"
    assert replaced["X-Request-ID"] not in ("", "bad id\n<script>")
    access = [line for line in log_capture.lines() if line["logger"] == "saas_platform.requests"]
    assert [(line["request_id"], line["path"], line["status"]) for line in access] == [
        ("lb-req-0123456789", "/healthz", kept.status_code),
        (replaced["X-Request-ID"], "/healthz", replaced.status_code),
    ]
    assert "abc" not in log_capture.text.replace("request_id", "")


@pytest.mark.integration
def test_a_real_webhook_and_send_log_tenant_request_and_task_ids_but_no_secret_or_text(
    sender_a, sandbox, celery_worker, webhook_worker, log_capture
):
    inbound_text = "inbound-private-words-4b1d"
    outbound_text = "outbound-private-words-77aa"
    delivered = sandbox.customer_sends_text(sender_a.phone_number_id, CUSTOMER, inbound_text)
    wamid_in = delivered["message"]["id"]

    def stored():
        """the customer's message is stored"""
        with in_tenant(sender_a.org):
            return WhatsAppMessage.objects.filter(wamid=wamid_in).first()

    wait_for(stored)
    tokens = obtain_tokens(sender_a.org)
    response = admin_client(sender_a.org).post(
        "/api/v1/messages/send/",
        {"to": CUSTOMER, "type": "text", "text": {"body": outbound_text}},
        "application/json",
        HTTP_X_REQUEST_ID="obs-send-request-0001",
    )
    assert response.status_code == 202, response.content
    (sent,) = wait_final(sender_a.org, [response.json()["id"]])
    assert sent.status == "accepted"

    def accepted_logged():
        """the send task logged its batch"""
        lines = log_capture.lines()
        return [line for line in lines if line["event"].startswith("outbound messages acc")]

    (accepted,) = wait_for(accepted_logged)
    assert accepted["tenant"] == sender_a.org.schema
    assert accepted["task_id"] and accepted["task_name"].endswith("send_message_task")
    text = log_capture.text
    for secret in (
        sender_a.token,
        settings.WHATSAPP_APP_SECRET,
        tokens["access"],
        tokens["refresh"],
        inbound_text,
        outbound_text,
    ):
        assert secret not in text
    lines = log_capture.lines()
    access = [line for line in lines if line["logger"] == "saas_platform.requests"]
    webhook_lines = [line for line in access if line["path"] == "/webhooks/whatsapp/"]
    assert webhook_lines and all(line["tenant"] == "public" for line in webhook_lines)
    assert all(len(line["request_id"]) >= 8 for line in webhook_lines)
    (send_line,) = [line for line in access if line["path"] == "/api/v1/messages/send/"]
    assert send_line["request_id"] == "obs-send-request-0001"
    assert send_line["tenant"] == sender_a.org.schema and send_line["status"] == 202


@pytest.mark.integration
def test_a_media_download_logs_the_messages_wamid_and_task(
    sender_a, sandbox, celery_worker, webhook_worker, log_capture
):
    media = inbound_image_stored(sender_a, sandbox, data=b"\x89PNG obs", customer=CUSTOMER)
    wamid = media.message.wamid
    (line,) = [line for line in log_capture.lines() if line["event"].startswith("media stored")]
    assert (line["wamid"], line["tenant"]) == (wamid, sender_a.org.schema)
    assert line["task_id"]
