"""Message states that say what Meta said, followed by polling the API's detail endpoint.

Real worker, real HTTP to the sandbox, and the sandbox's real signed status webhooks reaching
the platform's shared endpoint: queued -> sending -> accepted (Meta's 200) -> sent -> delivered
-> read, each with its own timestamp; Meta's `held_for_quality_assessment` stays visible as
accepted-but-not-sent; receipts never move a message backwards; another tenant can neither see
nor change a message's state.
"""

from __future__ import annotations

import time
from datetime import timedelta

import pytest

from tests.clients import admin_client
from tests.conftest import in_tenant, wait_for
from tests.factories import OutgoingMessageFactory
from whatsapp.models import WhatsAppMessage
from whatsapp.services.statuses import status_apply

from .conftest import customer

pytestmark = [pytest.mark.integration]

WA_ID = "447911123456"
ORDER = ["queued", "sending", "accepted", "sent", "delivered", "read"]
STATE_FIELDS = {
    "status", "message_status", "accepted_at", "sent_at", "delivered_at", "read_at",
    "played_at", "failed_at", "failure_reason", "error_code", "error_title", "error_message",
}  # fmt: skip


def send_text(sender, sandbox, body: str = "hi") -> dict:
    customer(sender, WA_ID, sandbox=sandbox)
    response = admin_client(sender.org).post(
        "/api/v1/messages/send/",
        {"to": WA_ID, "type": "text", "text": {"body": body}},
        "application/json",
    )
    assert response.status_code == 202, response.content
    return response.json()


def test_polling_the_detail_follows_queued_to_read_from_real_receipts(
    sender_a, sandbox, celery_worker, webhook_worker
) -> None:
    sandbox.update_config(auto_status=True, auto_status_delays=[0.6, 1.2, 1.8])
    created = send_text(sender_a, sandbox)
    assert created["status"] == "queued"
    assert {"accepted_at", "message_status", "sent_at", "played_at"} <= set(created)
    client = admin_client(sender_a.org)
    seen: list[str] = []

    def read() -> dict | None:
        detail = client.get(f"/api/v1/messages/{created['id']}/").json()
        if not seen or seen[-1] != detail["status"]:
            seen.append(detail["status"])
        return detail if detail["status"] == "read" else None

    detail = wait_for(read, timeout=20, interval=0.02)
    assert set(detail) >= STATE_FIELDS
    # Only forward, and Meta's 200 was seen on its own before the first receipt.
    assert seen == sorted(seen, key=ORDER.index)
    assert "accepted" in seen
    assert detail["message_status"] == "accepted"
    stamps = [detail[k] for k in ("accepted_at", "sent_at", "delivered_at", "read_at")]
    assert all(stamps)
    with in_tenant(sender_a.org):
        row = WhatsAppMessage.objects.get(pk=created["id"])
    # sent_at is the `sent` receipt's time (Meta's whole seconds), not the time of the 200.
    assert row.sent_at.microsecond == 0
    assert row.sent_at <= row.delivered_at <= row.read_at
    # Meta stamps `sent` by its own clock in whole seconds, possibly before our answer to the
    # send was processed (accepted_at is our clock when the 200 was settled): close, any order.
    assert abs(row.sent_at - row.accepted_at) < timedelta(seconds=5)


def test_a_message_held_for_quality_assessment_stays_accepted_and_visible(
    sender_a, sandbox, celery_worker, webhook_worker
) -> None:
    sandbox.update_config(auto_status=True, auto_status_delays=[0.05, 0.1, 0.15])
    sandbox.add_fault("quality_hold", count=1, path_regex=r"/messages$")
    created = send_text(sender_a, sandbox, "held")
    client = admin_client(sender_a.org)

    def accepted() -> dict | None:
        detail = client.get(f"/api/v1/messages/{created['id']}/").json()
        return detail if detail["status"] == "accepted" else None

    detail = wait_for(accepted, timeout=15)
    time.sleep(0.6)  # a normal message would have had all its receipts by now
    detail = client.get(f"/api/v1/messages/{created['id']}/").json()
    assert detail["status"] == "accepted"
    assert detail["message_status"] == "held_for_quality_assessment"
    assert detail["accepted_at"] and detail["sent_at"] is None
    listed = client.get("/api/v1/messages/outgoing/").json()["results"]
    assert [m["message_status"] for m in listed if m["id"] == created["id"]] == [
        "held_for_quality_assessment"
    ]


def receipt(wamid: str, status: str, ts: int, **extra) -> dict:
    return {"id": wamid, "status": status, "timestamp": str(ts), "recipient_id": WA_ID, **extra}


def test_receipts_in_any_order_never_move_a_message_backwards(
    sender_a, sandbox, celery_worker
) -> None:
    """`read` arrives while Meta's answer to the send is still on its way (the sandbox holds it
    2 s), then the answer, then `sent`, `delivered` and `played`. A real send through the worker
    and the sandbox; the receipts are applied with status_apply in exactly that order."""
    sandbox.update_config(auto_status=False)
    sandbox.add_fault("slow_after_accept", ms=2000, count=1, path_regex=r"/messages$")
    created = send_text(sender_a, sandbox)
    (sent,) = wait_for(lambda: sandbox.sent_messages(sender_a.phone_number_id))
    wamid, reference = sent["wamid"], sent["biz_opaque_callback_data"]
    now = int(time.time())
    with in_tenant(sender_a.org):
        read = receipt(wamid, "read", now + 3, biz_opaque_callback_data=reference)
        assert status_apply(status=read) == "applied"

        def answered() -> WhatsAppMessage | None:
            """Meta's answer reached the row"""
            message = WhatsAppMessage.objects.get(pk=created["id"])
            return message if message.accepted_at else None

        message = wait_for(answered, timeout=15)
        assert (message.status, message.wamid) == ("read", wamid)
        status_apply(status=receipt(wamid, "sent", now + 1))
        status_apply(status=receipt(wamid, "delivered", now + 2))
        status_apply(status=receipt(wamid, "played", now + 4))
        message.refresh_from_db()
    assert message.status == "played"
    assert message.accepted_at and message.message_status == "accepted"
    assert [int(getattr(message, f).timestamp()) - now for f in (
        "sent_at", "delivered_at", "read_at", "played_at")] == [1, 2, 3, 4]  # fmt: skip


def test_a_failed_receipt_keeps_metas_code_title_and_details(sender_a, sandbox) -> None:
    contact = customer(sender_a, WA_ID)
    error = {
        "code": 131026,
        "title": "Message undeliverable",
        "message": "Message undeliverable",
        "error_data": {"details": "Recipient is not on WhatsApp"},
    }
    with in_tenant(sender_a.org):
        message = OutgoingMessageFactory(
            status="accepted",
            contact=contact,
            phone_number_id=sender_a.phone_number_id,
            wamid="wamid.FAIL1",
        )
        status_apply(status=receipt("wamid.FAIL1", "failed", int(time.time()), errors=[error]))
        message.refresh_from_db()
    assert (message.status, message.error_code, message.error_title) == (
        "failed",
        131026,
        "Message undeliverable",
    )
    assert message.error_message == "Recipient is not on WhatsApp"
    assert message.failure_reason == "undeliverable" and message.failed_at
    detail = admin_client(sender_a.org).get(f"/api/v1/messages/{message.pk}/").json()
    assert (detail["failure_reason"], detail["error_code"]) == ("undeliverable", 131026)


def test_another_tenant_can_neither_see_nor_change_a_messages_state(
    sender_a, sender_b, sandbox, celery_worker
) -> None:
    created = send_text(sender_a, sandbox)

    def accepted() -> WhatsAppMessage | None:
        with in_tenant(sender_a.org):
            row = WhatsAppMessage.objects.get(pk=created["id"])
        return row if row.status == "accepted" else None

    row = wait_for(accepted, timeout=15)
    client_b = admin_client(sender_b.org)
    assert client_b.get(f"/api/v1/messages/{row.pk}/").status_code == 404
    assert all(m.get("wamid") != row.wamid for m in client_b.get("/api/v1/messages/").json()[
        "results"])  # fmt: skip
    # A receipt for A's wamid arriving on B's number (B's tenant) finds nothing there.
    with in_tenant(sender_b.org):
        assert status_apply(status=receipt(row.wamid, "read", int(time.time()))) == "parked"
    with in_tenant(sender_a.org):
        row.refresh_from_db()
    assert row.status == "accepted" and row.read_at is None
