"""Webhooks: signature over raw bytes, every inbound type's shape, usernames, statuses,
auto statuses, retries with backoff, batches, duplicates and shuffling."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest

from tests.sandbox.conftest import APP_SECRET, CUSTOMER, PNID, wait_until
from whatsapp.sandbox.payloads import INBOUND_TYPES

WABA = "200000000000001"


def only_message(payload: dict) -> tuple[dict, dict]:
    [entry] = payload["entry"]
    [change] = entry["changes"]
    value = change["value"]
    return value, value["messages"][0]


def test_signature_over_raw_bytes(sandbox, receiver):
    result = sandbox.customer_sends_text(PNID, CUSTOMER, "olá ✓", profile_name="Zoë")
    assert result["status"] == 200
    [call] = receiver.calls
    expected = hmac.new(APP_SECRET.encode(), call["body"], hashlib.sha256).hexdigest()
    assert call["headers"]["x-hub-signature-256"] == f"sha256={expected}"
    assert call["headers"]["content-type"] == "application/json"
    assert b"\\u00e1" in call["body"]  # ensure_ascii like Meta
    call["body"].decode("ascii")


def test_text_envelope(sandbox, receiver):
    sandbox.register_phone_number(PNID, display_phone_number="+15550000001", waba_id=WABA)
    sandbox.customer_sends_text(PNID, CUSTOMER, "hi", profile_name="Ana")
    [payload] = receiver.payloads()
    assert payload["object"] == "whatsapp_business_account"
    assert payload["entry"][0]["id"] == WABA
    change = payload["entry"][0]["changes"][0]
    assert change["field"] == "messages"
    value = change["value"]
    assert value["messaging_product"] == "whatsapp"
    assert value["metadata"] == {"display_phone_number": "15550000001", "phone_number_id": PNID}
    assert value["contacts"] == [{"profile": {"name": "Ana"}, "wa_id": "15551234567"}]
    message = value["messages"][0]
    assert message["from"] == "15551234567"
    assert message["id"].startswith("wamid.")
    assert isinstance(message["timestamp"], str) and message["timestamp"].isdigit()
    assert message["type"] == "text"
    assert message["text"] == {"body": "hi"}


def test_a_message_written_earlier_keeps_its_timestamp(sandbox, receiver):
    """A webhook Meta delivers late carries the time the customer wrote, not the delivery's."""
    written = 1_700_000_000
    result = sandbox.customer_sends_text(PNID, CUSTOMER, "late", timestamp=written)
    [payload] = receiver.payloads()
    _, message = only_message(payload)
    assert message["timestamp"] == str(written) == result["message"]["timestamp"]


EXPECTED_KEYS = {
    "text": {"body"},
    "image": {"id", "mime_type", "sha256", "caption"},
    "video": {"id", "mime_type", "sha256"},
    "audio": {"id", "mime_type", "sha256", "voice"},
    "document": {"id", "mime_type", "sha256", "filename"},
    "sticker": {"id", "mime_type", "sha256", "animated"},
    "location": {"latitude", "longitude", "name", "address"},
    "interactive": {"type", "button_reply"},
    "button": {"payload", "text"},
    "reaction": {"message_id", "emoji"},
    "order": {"catalog_id", "text", "product_items"},
    "system": {"type", "body", "wa_id"},
    "edit": {"original_message_id", "message"},
    "revoke": {"original_message_id"},
    "unsupported": {"type"},
}


@pytest.mark.parametrize("kind", INBOUND_TYPES)
def test_every_inbound_type_shape(sandbox, receiver, kind):
    fields = {"caption": "look"} if kind == "image" else {}
    result = sandbox.customer_sends(PNID, CUSTOMER, kind, **fields)
    assert result["status"] == 200
    _, message = only_message(receiver.payloads()[0])
    assert message["type"] == kind
    if kind == "contacts":
        assert message["contacts"][0]["name"]["formatted_name"]
        assert message["contacts"][0]["phones"][0]["phone"]
    else:
        assert set(message[kind]) >= EXPECTED_KEYS[kind], message
    if kind == "unsupported":
        assert message["errors"][0]["code"] == 131051
    if kind == "sticker":
        assert message["sticker"]["mime_type"] == "image/webp"
    if kind == "location":
        assert isinstance(message["location"]["latitude"], float)


def test_interactive_variants_context_and_referral(sandbox, receiver):
    flow = {
        "type": "nfm_reply",
        "nfm_reply": {
            "name": "flow",
            "body": "Sent",
            "response_json": json.dumps({"flow_token": "t"}),
        },
    }
    sandbox.customer_sends(PNID, CUSTOMER, "interactive", **flow)
    lst = {"type": "list_reply", "list_reply": {"id": "r1", "title": "Row", "description": "d"}}
    context = {"from": "15550000001", "id": "wamid.QUOTED"}
    referral = {
        "source_url": "https://fb.me/x",
        "source_id": "1",
        "source_type": "ad",
        "headline": "h",
        "body": "b",
        "media_type": "image",
        "image_url": "https://x/i.jpg",
        "ctwa_clid": "abc",
    }
    sandbox.customer_sends(PNID, CUSTOMER, "interactive", context=context, referral=referral, **lst)
    first, second = (only_message(p)[1] for p in receiver.payloads())
    assert first["interactive"]["type"] == "nfm_reply"
    assert json.loads(first["interactive"]["nfm_reply"]["response_json"]) == {"flow_token": "t"}
    assert second["interactive"]["list_reply"]["id"] == "r1"
    assert second["context"] == context
    assert second["referral"] == referral


def test_username_only_customer(sandbox, receiver, graph):
    bsuid = "US.13491208655302741918"
    sandbox.customer_sends_text(
        PNID, None, "hi", user_id=bsuid, username="ana.s", profile_name="Ana"
    )
    value, message = only_message(receiver.payloads()[0])
    assert value["contacts"] == [
        {"profile": {"name": "Ana", "username": "ana.s"}, "user_id": bsuid}
    ]
    assert "from" not in message
    assert message["from_user_id"] == bsuid
    # The window opened for the BSUID.
    body = {
        "messaging_product": "whatsapp",
        "recipient": bsuid,
        "type": "text",
        "text": {"body": "hello"},
    }
    assert graph.post(f"/{PNID}/messages", json=body).status_code == 200


def send_text(graph, body: str = "hello", **extra) -> str:
    payload = {
        "messaging_product": "whatsapp",
        "to": CUSTOMER,
        "type": "text",
        "text": {"body": body},
    } | extra
    response = graph.post(f"/{PNID}/messages", json=payload)
    assert response.status_code == 200, response.text
    return response.json()["messages"][0]["id"]


def test_auto_statuses(sandbox, receiver, graph):
    sandbox.customer_sends_text(PNID, CUSTOMER, "hi")
    sandbox.update_config(auto_status=True, auto_status_delays=[0.0, 0.02, 0.04])
    wamid = send_text(graph, biz_opaque_callback_data="order-17")
    statuses = wait_until(lambda: len(receiver.statuses()) == 3 and receiver.statuses())
    assert sorted(s["status"] for s in statuses) == ["delivered", "read", "sent"]
    for status in statuses:
        assert status["id"] == wamid
        assert status["recipient_id"] == "15551234567"
        assert status["biz_opaque_callback_data"] == "order-17"
        assert status["pricing"] == {
            "billable": False,
            "pricing_model": "PMP",
            "category": "service",
            "type": "free_customer_service",
        }
        assert status["conversation"]["origin"] == {"type": "service"}


def test_manual_failed_and_played_statuses(sandbox, receiver, graph):
    sandbox.customer_sends_text(PNID, CUSTOMER, "hi")
    wamid = send_text(graph)
    errors = [
        {
            "code": 131026,
            "title": "Message undeliverable",
            "message": "Message undeliverable",
            "error_data": {"details": "x"},
        }
    ]
    assert sandbox.send_status(wamid, "failed", errors=errors)["status"] == 200
    assert sandbox.send_status(wamid, "played")["status"] == 200
    failed, played = receiver.statuses()
    assert failed["status"] == "failed"
    assert failed["errors"] == errors
    assert played["status"] == "played"


def test_duplicates_shuffle_and_batch(sandbox, receiver, graph):
    sandbox.customer_sends_text(PNID, CUSTOMER, "hi")
    wamid = send_text(graph)
    items = [{"wamid": wamid, "status": s} for s in ("sent", "delivered", "read")]
    deliveries = sandbox.send_statuses(items, shuffle=True, duplicates=2)
    assert len(deliveries) == 6
    assert sorted(s["status"] for s in receiver.statuses()) == sorted(
        ["sent", "delivered", "read"] * 2
    )
    sandbox.send_statuses(items, batch=True)
    batch = receiver.payloads()[-1]
    assert sum(len(c["value"]["statuses"]) for e in batch["entry"] for c in e["changes"]) == 3


def test_retry_with_backoff_after_500(sandbox, receiver):
    receiver.fail_first = 2
    result = sandbox.customer_sends_text(PNID, CUSTOMER, "hi")
    assert result["status"] == 500
    assert result["attempt"] == 1
    [delivery] = wait_until(lambda: [d for d in sandbox.deliveries() if d["state"] == "delivered"])
    assert [a["status"] for a in delivery["attempts"]] == [500, 500, 200]
    assert [a["attempt"] for a in delivery["attempts"]] == [1, 2, 3]
    times = [c["time"] for c in receiver.calls]
    assert times[1] - times[0] >= 0.05 and times[2] - times[1] >= 0.1  # 0.05 s, x2
    assert len({c["body"] for c in receiver.calls}) == 1  # identical bytes each time


def test_gives_up_after_max_attempts(sandbox, receiver):
    sandbox.update_config(webhook_max_attempts=2, webhook_initial_delay=0.01)
    receiver.fail_first = 10
    sandbox.customer_sends_text(PNID, CUSTOMER, "hi")
    delivery = wait_until(lambda: [d for d in sandbox.deliveries() if d["state"] == "failed"])[0]
    assert len(delivery["attempts"]) == 2


def test_connection_error_is_recorded(sandbox):
    sandbox.update_config(webhook_url="http://127.0.0.1:9/hook", webhook_max_attempts=1)
    result = sandbox.customer_sends_text(PNID, CUSTOMER, "hi")
    assert result["status"] is None
    assert "ConnectError" in result["error"]


def test_multi_number_batch(sandbox, receiver):
    sandbox.register_phone_number("111", display_phone_number="+15550000111", waba_id="901")
    sandbox.register_phone_number("222", display_phone_number="+15550000222", waba_id="902")
    sandbox.register_phone_number("333", display_phone_number="+15550000333", waba_id="901")
    items = [
        {
            "phone_number_id": "111",
            "from": "+15551110000",
            "type": "text",
            "message": {"body": "a"},
        },
        {
            "phone_number_id": "222",
            "from": "+15552220000",
            "type": "text",
            "message": {"body": "b"},
        },
        {"phone_number_id": "333", "from": "+15553330000", "type": "location"},
    ]
    result = sandbox.customer_batch(items)
    assert result["status"] == 200
    [payload] = receiver.payloads()
    routes = {
        (entry["id"], change["value"]["metadata"]["phone_number_id"])
        for entry in payload["entry"]
        for change in entry["changes"]
    }
    assert routes == {("901", "111"), ("902", "222"), ("901", "333")}
    assert len(payload["entry"]) == 2


def test_template_status_webhook_and_raw_post(sandbox, receiver, graph):
    body = {
        "name": "welcome",
        "language": "en_US",
        "category": "UTILITY",
        "components": [{"type": "BODY", "text": "Hi"}],
    }
    graph.post(f"/{WABA}/message_templates", json=body)
    change = wait_until(lambda: receiver.payloads())[0]["entry"][0]["changes"][0]
    assert change["field"] == "message_template_status_update"
    assert change["value"]["event"] == "APPROVED"
    assert change["value"]["message_template_name"] == "welcome"
    raw = {"object": "whatsapp_business_account", "entry": []}
    assert sandbox.post_raw_webhook(raw)["status"] == 200
    assert receiver.payloads()[-1] == raw


def test_no_webhook_url_still_records(sandbox):
    result = sandbox.customer_sends_text(PNID, CUSTOMER, "hi")
    assert result["state"] == "skipped"
    assert result["message"]["text"] == {"body": "hi"}
