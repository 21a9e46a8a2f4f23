"""Fault injection: every kind, scoping, counts, and clearing."""

from __future__ import annotations

import time

import httpx
import pytest

from tests.sandbox.conftest import CUSTOMER, PNID, wait_until


def send_body() -> dict:
    return {"messaging_product": "whatsapp", "to": CUSTOMER, "type": "text", "text": {"body": "x"}}


@pytest.fixture
def window(sandbox):
    sandbox.customer_sends_text(PNID, CUSTOMER, "hi")


def test_http_5xx(sandbox, graph, window):
    sandbox.add_fault("http_5xx", status=500, count=1)
    sandbox.add_fault("http_5xx", count=1)
    first = graph.post(f"/{PNID}/messages", json=send_body())
    assert first.status_code == 500
    assert first.json()["error"]["code"] == 1
    second = graph.post(f"/{PNID}/messages", json=send_body())
    assert second.status_code == 503
    assert second.json()["error"]["code"] == 2
    assert second.json()["error"]["message"] == "Service temporarily unavailable"
    assert graph.post(f"/{PNID}/messages", json=send_body()).status_code == 200


@pytest.mark.parametrize(
    ("code", "status"),
    [(130429, 400), (131056, 400), (131047, 400), (190, 401), (4, 400), (80007, 400), (100, 400)],
)
def test_error_code(sandbox, graph, window, code, status):
    sandbox.add_fault("error_code", code=code, count=1)
    response = graph.post(f"/{PNID}/messages", json=send_body())
    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    assert response.json()["error"]["fbtrace_id"]


def test_timeout_drops_without_answer(sandbox, graph, window):
    sandbox.add_fault("timeout", seconds=0.3, count=1)
    started = time.monotonic()
    with pytest.raises(httpx.RemoteProtocolError):
        graph.post(f"/{PNID}/messages", json=send_body())
    assert time.monotonic() - started >= 0.3
    with pytest.raises(httpx.ReadTimeout):
        sandbox.add_fault("timeout", seconds=2, count=1)
        graph.post(f"/{PNID}/messages", json=send_body(), timeout=0.2)
    assert not sandbox.sent_messages()


def test_timeout_after_accept_processes_the_send(sandbox, graph, receiver, window):
    sandbox.update_config(auto_status=True, auto_status_delays=[0.0, 0.01, 0.02])
    sandbox.add_fault("timeout_after_accept", seconds=0.2, count=1)
    with pytest.raises(httpx.RemoteProtocolError):
        graph.post(f"/{PNID}/messages", json=send_body())
    [sent] = sandbox.sent_messages()
    statuses = wait_until(lambda: len(receiver.statuses()) == 3 and receiver.statuses())
    assert {s["id"] for s in statuses} == {sent["wamid"]}
    [record] = sandbox.requests(path_contains="/messages")
    assert record["action"] == "hold"
    assert record["response"]["messages"][0]["id"] == sent["wamid"]


def test_quality_hold_accepts_but_holds_the_message(sandbox, graph, receiver, window):
    """Meta's template pacing: a 200 with `held_for_quality_assessment` and no receipt; the
    next send is accepted and followed by its receipts as usual."""
    sandbox.update_config(auto_status=True, auto_status_delays=[0.0, 0.01, 0.02])
    sandbox.add_fault("quality_hold", count=1)
    held = graph.post(f"/{PNID}/messages", json=send_body())
    assert held.status_code == 200
    [message] = held.json()["messages"]
    assert message["message_status"] == "held_for_quality_assessment"
    assert message["id"] in {m["wamid"] for m in sandbox.sent_messages()}
    normal = graph.post(f"/{PNID}/messages", json=send_body())
    assert normal.json()["messages"][0]["message_status"] == "accepted"
    statuses = wait_until(lambda: len(receiver.statuses()) == 3 and receiver.statuses())
    time.sleep(0.1)
    assert {s["id"] for s in receiver.statuses()} == {normal.json()["messages"][0]["id"]}
    assert len(statuses) == 3


def test_delay(sandbox, graph, window):
    sandbox.add_fault("delay", ms=150, count=1)
    started = time.monotonic()
    assert graph.post(f"/{PNID}/messages", json=send_body()).status_code == 200
    assert time.monotonic() - started >= 0.15


def test_drop(sandbox, graph, window):
    sandbox.add_fault("drop", probability=1.0, count=2)
    for _ in range(2):
        with pytest.raises(httpx.RemoteProtocolError):
            graph.post(f"/{PNID}/messages", json=send_body())
    assert graph.post(f"/{PNID}/messages", json=send_body()).status_code == 200


def test_scope_by_path_and_number_and_clear(sandbox, graph, window):
    sandbox.add_fault("error_code", code=4, path_regex=r"/media$", count=None, probability=1.0)
    sandbox.add_fault("http_5xx", phone_number_id="42", count=5)
    assert graph.post(f"/{PNID}/messages", json=send_body()).status_code == 200
    media = graph.post(f"/{PNID}/media", data={"messaging_product": "whatsapp"})
    assert media.json()["error"]["code"] == 4
    assert graph.post("/42/messages", json=send_body()).status_code == 503
    assert len(sandbox.faults()) == 2
    sandbox.clear_faults()
    assert sandbox.faults() == []
    assert graph.post("/42/messages", json={}).status_code == 400  # ordinary validation


def test_probability_zero_never_fires(sandbox, graph, window):
    sandbox.add_fault("http_5xx", probability=0.0)
    assert all(
        graph.post(f"/{PNID}/messages", json=send_body()).status_code == 200 for _ in range(5)
    )


def test_bad_fault_is_rejected(sandbox):
    from whatsapp.sandbox import SandboxClientError

    with pytest.raises(SandboxClientError) as error:
        sandbox.add_fault("meteor")
    assert error.value.status == 400
    with pytest.raises(SandboxClientError):
        sandbox.add_fault("error_code")


def test_slow_after_accept_answers_after_its_status_webhooks(sandbox, graph, receiver, window):
    sandbox.update_config(auto_status=True, auto_status_delays=[0.0, 0.01, 0.02])
    sandbox.add_fault("slow_after_accept", ms=800, count=1)
    started = time.monotonic()
    response = graph.post(f"/{PNID}/messages", json=send_body())
    assert time.monotonic() - started >= 0.8
    assert response.status_code == 200
    wamid = response.json()["messages"][0]["id"]
    # Every receipt was delivered while the answer was held back.
    statuses = receiver.statuses()
    assert [s["status"] for s in statuses] == ["sent", "delivered", "read"]
    assert {s["id"] for s in statuses} == {wamid}
    # Only the first matching send is slow.
    started = time.monotonic()
    assert graph.post(f"/{PNID}/messages", json=send_body()).status_code == 200
    assert time.monotonic() - started < 0.8
