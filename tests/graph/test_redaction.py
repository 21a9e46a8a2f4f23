"""Unit tests that no token or secret leaks: every endpoint, success and failure, is driven with
known secret values while caplog captures every logger at DEBUG (ours, httpx, httpcore); the
secrets must appear in no log line and in no str()/repr() of a raised exception. The HTTP
boundary is faked with `httpx.MockTransport` (see fakes.py); no network, no Django."""

from __future__ import annotations

import logging
from collections.abc import Callable

import httpx
import pytest

from whatsapp.graph.client import GraphClient
from whatsapp.graph.errors import GraphError, redact
from whatsapp.graph.payloads import build_message_payload

from .fakes import NEW_TOKEN, TOKEN, graph_error

APP_SECRET = "appSECRETvalue0123456789"
SHORT = "EAAGshortSECRETvalue"
INPUT = "EAAGinspectedSECRETvalue"
SECRETS = (TOKEN, NEW_TOKEN, APP_SECRET, SHORT, INPUT)
BODY_TEXT = "my private message body"
PAYLOAD = build_message_payload(
    recipient="5511999990000", message_type="text", content={"body": BODY_TEXT}
)


def calls(client: GraphClient) -> list[Callable[[], object]]:
    return [
        lambda: client.send_message("1065", PAYLOAD),
        lambda: client.mark_as_read("1065", "wamid.IN"),
        lambda: client.get_media_url("777"),
        lambda: client.download_media("https://lookaside.test/a?hash=x", max_bytes=100),
        lambda: client.upload_media("1065", filename="a.txt", content=b"x", mime_type="text/plain"),
        lambda: client.delete_media("777"),
        lambda: client.exchange_token(app_id="1", app_secret=APP_SECRET, short_lived_token=SHORT),
        lambda: client.debug_token(input_token=INPUT, app_token=f"1|{APP_SECRET}"),
        lambda: client.list_templates("2001"),
        lambda: client.create_template("2001", {"name": "x"}),
        lambda: client.delete_template("2001", "x"),
    ]


def echoing_error(request: httpx.Request) -> httpx.Response:
    """A 190 whose message echoes what the request carried (bearer header, URL with its query
    secrets) and the first token, as badly behaved Graph errors might."""
    bearer = request.headers.get("authorization")
    echoed = f"{bearer} {request.url} {TOKEN if bearer else ''}"
    return graph_error(
        190, status=401, message=f"Invalid token: {echoed}", error_data={"details": echoed}
    )


def timeout(request: httpx.Request) -> httpx.Response:
    raise httpx.ReadTimeout(f"timed out {request.url}", request=request)


def connect_error(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError(f"refused {request.url}", request=request)


def ok(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json={"data": [], "success": True, "access_token": "x" * 8})


def assert_clean(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text
    assert BODY_TEXT not in text


@pytest.mark.parametrize(
    "handler",
    [ok, echoing_error, timeout, connect_error, lambda r: httpx.Response(502, text="bad")],
)
def test_no_secret_in_logs_or_exceptions(make_client, caplog, handler):
    caplog.set_level(logging.DEBUG)
    client, fake = make_client(handler)
    for call in calls(client):
        try:
            call()
        except GraphError as exc:
            assert_clean(str(exc))
            assert_clean(repr(exc))
            assert_clean(" ".join(str(a) for a in exc.args))
            assert_clean(str(exc.details))
    assert fake.requests  # the calls really went through the fake
    assert caplog.records
    for record in caplog.records:
        assert_clean(record.getMessage())


def test_logs_say_method_path_status_and_trace(make_client, caplog):
    caplog.set_level(logging.INFO, logger="whatsapp.graph")
    client, _ = make_client(lambda request: graph_error(131047))
    with pytest.raises(GraphError):
        client.send_message("1065", PAYLOAD)
    line = caplog.records[-1].getMessage()
    assert "POST /v25.0/1065/messages -> 400" in line
    assert "code=131047" in line and "fbtrace_id=AbCdTrace" in line
    assert caplog.records[-1].levelno == logging.WARNING


def test_query_secrets_are_redacted_in_logged_paths(make_client, caplog):
    caplog.set_level(logging.INFO, logger="whatsapp.graph")
    client, _ = make_client(ok)
    client.exchange_token(app_id="1", app_secret=APP_SECRET, short_lived_token=SHORT)
    line = caplog.records[-1].getMessage()
    assert "grant_type=fb_exchange_token" in line
    assert "client_secret=%5Bredacted%5D" in line or "client_secret=[redacted]" in line


def test_redact_helper():
    text = "GET /x?access_token=abc123&limit=2 Authorization: Bearer EAAGzzz input_token=q"
    cleaned = redact(text, secrets=["limit"])
    assert "abc123" not in cleaned and "EAAGzzz" not in cleaned and "input_token=q" not in cleaned
