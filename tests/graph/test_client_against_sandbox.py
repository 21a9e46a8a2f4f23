"""Integration tests of GraphClient over real HTTP on loopback against the WhatsApp sandbox
(`whatsapp.sandbox.SandboxServer`, a Meta simulator), driven with its control API
(`SandboxClient`): sends, 190 → refresh → retry, 5xx, timeouts, throughput errors, media,
token exchange/debug and template paging. No Django: the sandbox and the client are plain Python.

Meta pages:
- error codes: https://developers.facebook.com/documentation/business-messaging/whatsapp/support/error-codes
"""

from __future__ import annotations

import hashlib
import logging
import socket
from collections.abc import Iterator
from datetime import datetime

import pytest

from whatsapp.graph.client import GraphClient
from whatsapp.graph.errors import (
    GraphAuthError,
    GraphConnectionError,
    GraphError,
    GraphMediaTooLargeError,
    GraphPermanentError,
    GraphRateLimitedError,
    GraphTimeoutError,
    GraphTransientError,
)
from whatsapp.graph.payloads import build_message_payload
from whatsapp.graph.retry import RetryPolicy, call_with_retry

sandbox_module = pytest.importorskip("whatsapp.sandbox")
SandboxClient = sandbox_module.SandboxClient
SandboxConfig = sandbox_module.SandboxConfig
SandboxServer = sandbox_module.SandboxServer

pytestmark = pytest.mark.integration

PNID = "106540352242922"
CUSTOMER = "5511999990000"
VERSION = "v25.0"
FAST = RetryPolicy(max_attempts=4, base_delay=0.01, max_delay=0.05)


@pytest.fixture(scope="module")
def server() -> Iterator[SandboxServer]:
    server = SandboxServer(SandboxConfig(auto_status=False)).start()
    yield server
    server.stop()


@pytest.fixture
def control(server: SandboxServer) -> Iterator[SandboxClient]:
    with server.client() as client:
        client.reset()
        client.update_config(auto_status=False)
        client.set_window(PNID, CUSTOMER)
        yield client
        client.clear_faults()


class Tokens:
    """A token provider/refresher pair backed by the sandbox's token issuer."""

    def __init__(self, control: SandboxClient, *, expire_refreshed: bool = False) -> None:
        self.control = control
        self.current = control.issue_token()
        self.issued = [self.current]
        self.refreshes = 0
        self.expire_refreshed = expire_refreshed

    def provide(self) -> str:
        return self.current

    def refresh(self) -> str:
        self.refreshes += 1
        self.current = self.control.issue_token()
        self.issued.append(self.current)
        if self.expire_refreshed:
            self.control.expire_token(self.current)
        return self.current


@pytest.fixture
def tokens(control: SandboxClient) -> Tokens:
    return Tokens(control)


@pytest.fixture
def graph(server: SandboxServer, tokens: Tokens) -> Iterator[GraphClient]:
    with GraphClient(
        base_url=server.url,
        api_version=VERSION,
        token_provider=tokens.provide,
        token_refresher=tokens.refresh,
        timeout=2.0,
    ) as client:
        yield client


def text_payload(body: str = "hello from the platform") -> dict[str, object]:
    return build_message_payload(recipient=CUSTOMER, message_type="text", content={"body": body})


def test_send_message(graph, control):
    sent = graph.send_message(PNID, text_payload())
    assert sent.wamid.startswith("wamid.")
    assert sent.wa_id == CUSTOMER
    assert sent.message_status == "accepted"
    (recorded,) = control.sent_messages(PNID)
    assert recorded["wamid"] == sent.wamid
    assert recorded["body"]["text"]["body"] == "hello from the platform"
    (request,) = control.requests(path_contains="/messages")
    assert request["has_bearer"] is True


def test_outside_window_is_permanent_131047(graph, control):
    control.set_window(PNID, CUSTOMER, open=False)
    with pytest.raises(GraphPermanentError) as info:
        graph.send_message(PNID, text_payload())
    assert info.value.code == 131047


def test_expired_token_is_refreshed_once_and_the_send_retried(graph, control, tokens):
    control.expire_token(tokens.current)
    sent = graph.send_message(PNID, text_payload())
    assert sent.wamid
    assert tokens.refreshes == 1
    attempts = control.requests(path_contains="/messages")
    assert [r["status"] for r in attempts] == [401, 200]
    assert attempts[0]["token_sha256"] != attempts[1]["token_sha256"]
    assert len(control.sent_messages(PNID)) == 1


def test_second_190_raises_after_one_refresh(server, control):
    tokens = Tokens(control, expire_refreshed=True)
    control.expire_token(tokens.current)
    with (
        GraphClient(
            base_url=server.url,
            api_version=VERSION,
            token_provider=tokens.provide,
            token_refresher=tokens.refresh,
        ) as graph,
        pytest.raises(GraphAuthError) as info,
    ):
        graph.send_message(PNID, text_payload())
    assert info.value.code == 190
    assert info.value.token_expired
    assert tokens.refreshes == 1
    assert len(control.requests(path_contains="/messages")) == 2
    assert control.sent_messages(PNID) == []


def test_5xx_is_transient_and_retry_recovers(graph, control):
    control.add_fault("http_5xx", status=503, count=1, path_regex="/messages$")
    with pytest.raises(GraphTransientError) as info:
        graph.send_message(PNID, text_payload())
    assert info.value.http_status == 503
    assert info.value.code == 2

    media_id = graph.upload_media(
        PNID, filename="a.txt", content=b"retry me", mime_type="text/plain"
    ).id
    control.add_fault("http_5xx", status=500, count=2, path_regex=f"/{media_id}$")
    sleeps: list[float] = []
    info_ok = call_with_retry(lambda: graph.get_media_url(media_id), FAST, sleep=sleeps.append)
    assert info_ok.id == media_id
    assert len(sleeps) == 2


def test_timeout_after_accept_may_have_been_delivered(server, control, tokens):
    control.add_fault("timeout_after_accept", seconds=3, count=1, path_regex="/messages$")
    with (
        GraphClient(
            base_url=server.url, api_version=VERSION, token_provider=tokens.provide, timeout=0.5
        ) as graph,
        pytest.raises(GraphTimeoutError) as info,
    ):
        graph.send_message(PNID, text_payload())
    assert info.value.maybe_delivered is True
    assert not FAST.should_retry(info.value, 1)
    # Meta (the sandbox) did accept it: a blind retry would have sent it twice (Meta: error codes).
    assert len(control.sent_messages(PNID)) == 1


def test_timeout_on_idempotent_lookup_is_retryable(server, control, tokens):
    control.add_fault("timeout", seconds=3, count=1, method="GET")
    with (
        GraphClient(
            base_url=server.url, api_version=VERSION, token_provider=tokens.provide, timeout=0.5
        ) as graph,
        pytest.raises(GraphTimeoutError) as info,
    ):
        graph.get_media_url("123")
    assert info.value.maybe_delivered is False
    assert FAST.should_retry(info.value, 1)


def test_dropped_connection_on_send_is_not_claimed_undelivered(graph, control):
    control.add_fault("drop", count=1, path_regex="/messages$")
    with pytest.raises(GraphTimeoutError) as info:
        graph.send_message(PNID, text_payload())
    assert info.value.maybe_delivered is True


def test_connection_refused_is_a_connection_error(tokens):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with (
        GraphClient(
            base_url=f"http://127.0.0.1:{port}", api_version=VERSION, token_provider=tokens.provide
        ) as graph,
        pytest.raises(GraphConnectionError),
    ):
        graph.send_message(PNID, text_payload())


def test_throughput_limit_is_rate_limited_130429(graph, control):
    control.set_rate_limit(PNID, 1)
    graph.send_message(PNID, text_payload("one"))
    with pytest.raises(GraphRateLimitedError) as info:
        graph.send_message(PNID, text_payload("two"))
    assert info.value.code == 130429
    assert info.value.retry_after == 1.0
    assert FAST.should_retry(info.value, 1)
    assert FAST.delay_for(1, info.value) >= 1.0


def test_pair_rate_error_carries_growth(graph, control):
    control.add_fault("error_code", code=131056, count=1, path_regex="/messages$")
    with pytest.raises(GraphRateLimitedError) as info:
        graph.send_message(PNID, text_payload())
    assert info.value.retry_after_growth == 4.0


def test_media_upload_lookup_download_delete(graph, control):
    content = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8
    uploaded = graph.upload_media(PNID, filename="pic.png", content=content, mime_type="image/png")
    info = graph.get_media_url(uploaded.id, phone_number_id=PNID)
    assert info.id == uploaded.id
    assert info.mime_type == "image/png"
    assert info.file_size == len(content)
    assert info.sha256 == hashlib.sha256(content).hexdigest()
    assert graph.download_media(info.url, max_bytes=len(content)) == content
    with pytest.raises(GraphMediaTooLargeError):
        graph.download_media(info.url, max_bytes=100)
    graph.delete_media(uploaded.id)
    with pytest.raises(GraphPermanentError) as gone:
        graph.get_media_url(uploaded.id)
    assert gone.value.code == 100


def test_unsupported_upload_is_131053(graph):
    with pytest.raises(GraphPermanentError) as info:
        graph.upload_media(PNID, filename="x.exe", content=b"MZ", mime_type="application/x-exe")
    assert info.value.code == 131053


def test_exchange_and_debug_token(graph, control, caplog):
    caplog.set_level(logging.DEBUG)
    config = control.config()
    app_id, app_secret = config["app_id"], config["app_secret"]
    short = control.issue_token(expires_in=3600)
    exchanged = graph.exchange_token(app_id=app_id, app_secret=app_secret, short_lived_token=short)
    assert exchanged.access_token.startswith("EAAS")
    assert exchanged.expires_in == config["exchanged_token_expires_in"]
    (request,) = control.requests(path_contains="oauth/access_token")
    assert request["has_bearer"] is False

    info = graph.debug_token(input_token=exchanged.access_token, app_token=f"{app_id}|{app_secret}")
    assert info.is_valid is True
    assert info.app_id == app_id
    assert isinstance(info.expires_at, datetime) and info.expires_at.tzinfo is not None
    assert "whatsapp_business_messaging" in info.scopes

    with pytest.raises(GraphError) as bad:
        graph.exchange_token(
            app_id=app_id, app_secret="wrong-secret-value", short_lived_token=short
        )
    for secret in (app_secret, "wrong-secret-value", short, exchanged.access_token):
        assert secret not in str(bad.value) and secret not in repr(bad.value)
        assert secret not in caplog.text


def test_templates_paging_create_delete(graph, control):
    waba = control.config()["default_waba_id"]
    for i in range(5):
        control.create_template(f"tpl_{i}", waba_id=waba)
    templates = graph.list_templates(waba, limit=2)
    assert sorted(t.name for t in templates) == [f"tpl_{i}" for i in range(5)]
    assert all(t.status == "APPROVED" for t in templates)
    pages = control.requests(path_contains="/message_templates")
    assert len(pages) == 3
    assert all(p["has_bearer"] for p in pages)
    assert all("access_token" not in p["query"] for p in pages)

    created = graph.create_template(
        waba,
        {
            "name": "order_ready",
            "language": "en_US",
            "category": "UTILITY",
            "components": [
                {"type": "BODY", "text": "Order {{1}} is ready", "example": {"body_text": [["7"]]}}
            ],
        },
    )
    assert created["status"] == "PENDING"
    graph.delete_template(waba, "order_ready")
    assert "order_ready" not in {t.name for t in graph.list_templates(waba)}


def test_template_send_and_paused_template(graph, control):
    control.create_template("shipping_update", components=[{"type": "BODY", "text": "Hi {{1}}"}])
    payload = build_message_payload(
        recipient=CUSTOMER,
        message_type="template",
        content={
            "name": "shipping_update",
            "language": "en_US",
            "components": [{"type": "body", "parameters": [{"type": "text", "text": "Ana"}]}],
        },
    )
    control.set_window(PNID, CUSTOMER, open=False)  # templates need no window
    assert graph.send_message(PNID, payload).wamid
    control.pause_template("shipping_update")
    with pytest.raises(GraphPermanentError) as info:
        graph.send_message(PNID, payload)
    assert info.value.code == 132015
