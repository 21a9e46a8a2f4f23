"""Unit tests of GraphClient's request handling for message sends: bearer header, envelope
parsing, typed errors, the single 190 refresh-and-retry, and timeout semantics. The HTTP boundary
is faked with `httpx.MockTransport` (see fakes.py); no network, no Django."""

from __future__ import annotations

import json

import httpx
import pytest

from whatsapp.graph.client import GraphClient
from whatsapp.graph.errors import (
    GraphAuthError,
    GraphConnectionError,
    GraphPermanentError,
    GraphRateLimitedError,
    GraphTimeoutError,
    GraphTransientError,
)
from whatsapp.graph.payloads import build_message_payload
from whatsapp.graph.types import SentMessage

from .fakes import NEW_TOKEN, TOKEN, graph_error

PAYLOAD = build_message_payload(
    recipient="5511999990000", message_type="text", content={"body": "hi"}
)
SENT = {
    "messaging_product": "whatsapp",
    "contacts": [{"input": "5511999990000", "wa_id": "551199990000"}],
    "messages": [{"id": "wamid.HBgM", "message_status": "accepted"}],
}


def test_send_message_posts_payload_with_bearer_and_parses_result(make_client):
    client, fake = make_client(lambda request: httpx.Response(200, json=SENT))
    sent = client.send_message("1065", PAYLOAD)
    request = fake.requests[0]
    assert request.method == "POST"
    assert str(request.url) == "https://graph.test/v25.0/1065/messages"
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert request.headers["content-type"] == "application/json"
    assert json.loads(request.content) == PAYLOAD
    assert sent == SentMessage(
        wamid="wamid.HBgM", wa_id="551199990000", input="5511999990000", message_status="accepted"
    )
    assert sent.raw["messages"][0]["id"] == "wamid.HBgM"


def test_mark_as_read_sends_read_status(make_client):
    client, fake = make_client(lambda request: httpx.Response(200, json={"success": True}))
    assert client.mark_as_read("1065", "wamid.IN", typing_indicator=True) is None
    assert json.loads(fake.requests[0].content) == {
        "messaging_product": "whatsapp",
        "status": "read",
        "message_id": "wamid.IN",
        "typing_indicator": {"type": "text"},
    }


@pytest.mark.parametrize(
    ("response", "family"),
    [
        (graph_error(131047), GraphPermanentError),
        (graph_error(130429), GraphRateLimitedError),
        (graph_error(131000, status=500), GraphTransientError),
        (httpx.Response(502, text="<html>Bad Gateway</html>"), GraphTransientError),
    ],
)
def test_errors_become_typed_exceptions(make_client, response, family):
    client, _ = make_client(lambda request: response)
    with pytest.raises(family) as info:
        client.send_message("1065", PAYLOAD)
    assert info.value.http_status == response.status_code


def test_fbtrace_id_from_header_when_body_has_none(make_client):
    response = httpx.Response(503, text="busy", headers={"x-fb-trace-id": "TraceFromHeader"})
    client, _ = make_client(lambda request: response)
    with pytest.raises(GraphTransientError) as info:
        client.send_message("1065", PAYLOAD)
    assert info.value.fbtrace_id == "TraceFromHeader"


def test_retry_after_header_is_honoured(make_client):
    response = graph_error(130429, headers={"retry-after": "3"})
    client, _ = make_client(lambda request: response)
    with pytest.raises(GraphRateLimitedError) as info:
        client.send_message("1065", PAYLOAD)
    assert info.value.retry_after == 3.0


def test_190_refreshes_once_and_retries_once(make_client):
    def handler(request: httpx.Request) -> httpx.Response:
        if request.headers["authorization"] == f"Bearer {TOKEN}":
            return graph_error(190, status=401, subcode=463)
        return httpx.Response(200, json=SENT)

    client, fake = make_client(handler)
    assert client.send_message("1065", PAYLOAD).wamid == "wamid.HBgM"
    assert make_client.refreshes == [NEW_TOKEN]
    assert [r.headers["authorization"] for r in fake.requests] == [
        f"Bearer {TOKEN}",
        f"Bearer {NEW_TOKEN}",
    ]
    assert fake.requests[0].content == fake.requests[1].content


def test_second_190_raises_after_one_refresh(make_client):
    client, fake = make_client(lambda request: graph_error(190, status=401, subcode=467))
    with pytest.raises(GraphAuthError) as info:
        client.send_message("1065", PAYLOAD)
    assert info.value.subcode == 467
    assert len(make_client.refreshes) == 1
    assert len(fake.requests) == 2


def test_190_without_refresher_raises_at_once(make_client):
    client, fake = make_client(lambda request: graph_error(190, status=401), refresher=False)
    with pytest.raises(GraphAuthError):
        client.send_message("1065", PAYLOAD)
    assert len(fake.requests) == 1


def test_other_auth_family_codes_do_not_refresh(make_client):
    client, _ = make_client(lambda request: graph_error(102, status=401))
    with pytest.raises(GraphAuthError):
        client.send_message("1065", PAYLOAD)
    assert make_client.refreshes == []


def _raise(exc_type: type[Exception]):
    def handler(request: httpx.Request) -> httpx.Response:
        raise exc_type("simulated", request=request)  # type: ignore[call-arg]

    return handler


def test_read_timeout_on_send_may_have_been_delivered(make_client):
    client, _ = make_client(_raise(httpx.ReadTimeout))
    with pytest.raises(GraphTimeoutError) as info:
        client.send_message("1065", PAYLOAD)
    assert info.value.maybe_delivered is True
    assert isinstance(info.value, GraphTransientError)


def test_read_timeout_on_idempotent_calls_is_safe_to_retry(make_client):
    client, _ = make_client(_raise(httpx.ReadTimeout))
    with pytest.raises(GraphTimeoutError) as info:
        client.mark_as_read("1065", "wamid.IN")
    assert info.value.maybe_delivered is False
    with pytest.raises(GraphTimeoutError) as info:
        client.get_media_url("777")
    assert info.value.maybe_delivered is False


@pytest.mark.parametrize("exc_type", [httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout])
def test_failures_before_sending_are_connection_errors(make_client, exc_type):
    client, _ = make_client(_raise(exc_type))
    with pytest.raises(GraphConnectionError) as info:
        client.send_message("1065", PAYLOAD)
    assert not isinstance(info.value, GraphTimeoutError)
    assert info.value.__cause__ is None  # httpx errors carry the URL: not chained


def test_write_timeout_did_not_deliver(make_client):
    client, _ = make_client(_raise(httpx.WriteTimeout))
    with pytest.raises(GraphTimeoutError) as info:
        client.send_message("1065", PAYLOAD)
    assert info.value.maybe_delivered is False


def test_default_timeout_is_always_set():
    seen: list[dict[str, float | None]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.extensions["timeout"])
        return httpx.Response(200, json={"success": True})

    # An injected httpx.Client without a timeout still gets the client's default per request.
    http = httpx.Client(transport=httpx.MockTransport(handler), timeout=None)  # noqa: S113
    client = GraphClient(
        base_url="https://graph.test/", api_version="v25.0", token_provider=lambda: TOKEN, http=http
    )
    client.mark_as_read("1065", "wamid.IN")
    assert seen[0]["read"] == 10.0
    client.close()
    assert not http.is_closed  # an injected client belongs to its owner
    http.close()


def test_owned_client_closes_and_works_as_context_manager():
    with GraphClient(
        base_url="https://graph.test", api_version="v25.0", token_provider=lambda: TOKEN
    ) as client:
        assert client._http.timeout.read == 10.0
    assert client._http.is_closed


def test_ids_cannot_escape_their_path_segment(make_client):
    client, fake = make_client(lambda request: httpx.Response(200, json=SENT))
    client.send_message("10/../65", PAYLOAD)
    assert fake.requests[0].url.raw_path == b"/v25.0/10%2F..%2F65/messages"
    with pytest.raises(ValueError):
        client.send_message("..", PAYLOAD)
