"""End to end through the real worker and the sandbox: the shared limiter keeps a number under
its configured rate (measured on the sandbox's recorded request times), a receipt that beats
the send response is not overwritten, read receipts reach Meta, and one organization can never
act on another's messages or numbers."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from tenants.models import PhoneNumber
from tests.clients import admin_client
from tests.conftest import in_tenant, wait_for
from tests.factories import IncomingMessageFactory, OutgoingMessageFactory
from whatsapp.models import WhatsAppMessage

from .conftest import TOKENS, accepted_sends, customer, wait_final
from .test_ratelimit import max_in_any_window

pytestmark = [pytest.mark.integration]

WA_ID = "4915123456789"


def test_the_limiter_keeps_the_workers_under_the_numbers_rate(
    sender_a, sandbox, celery_worker
) -> None:
    rate = 20
    PhoneNumber.objects.filter(phone_number_id=sender_a.phone_number_id).update(
        messages_per_second=rate
    )
    sandbox.set_rate_limit(sender_a.phone_number_id, rate)  # Meta's cap: 130429 above it
    sandbox.set_window_enforcement(False)
    contact = customer(sender_a, WA_ID)
    with in_tenant(sender_a.org):
        ids = [
            OutgoingMessageFactory(
                contact=contact, text=f"n{i}", phone_number_id=sender_a.phone_number_id
            ).pk
            for i in range(3 * rate)
        ]
    messages = wait_final(sender_a.org, ids, timeout=30)
    sandbox.set_window_enforcement(True)
    assert {m.status for m in messages} == {"accepted"}
    sends = accepted_sends(sandbox, sender_a.phone_number_id)
    assert len(sends) == len(ids)
    assert max_in_any_window([e["time"] for e in sends]) <= rate
    refused = [e for e in sandbox.requests(path_contains="/messages") if e["status"] == 400]
    assert refused == []  # not one 130429: the fleet never went over
    assert {m.attempts for m in messages} == {1}


def test_a_receipt_that_arrived_first_is_not_overwritten_by_the_send_response(
    sender_a, sandbox, celery_worker, webhook_worker
) -> None:
    """Meta's receipts reach our webhook while its answer to the send is held (2.5 s in the
    sandbox): the answer adds accepted_at and keeps the status the receipts gave."""
    sandbox.update_config(auto_status=True, auto_status_delays=[0.0, 0.05, 0.1])
    sandbox.add_fault("slow_after_accept", ms=2500, count=1, path_regex=r"/messages$")
    customer(sender_a, WA_ID, sandbox=sandbox)
    response = admin_client(sender_a.org).post(
        "/api/v1/messages/send/",
        {"to": WA_ID, "type": "text", "text": {"body": "x"}},
        "application/json",
    )
    assert response.status_code == 202, response.content

    def answered() -> WhatsAppMessage | None:
        """Meta's answer reached the row"""
        with in_tenant(sender_a.org):
            message = WhatsAppMessage.objects.get(pk=response.json()["id"])
        return message if message.accepted_at else None

    message = wait_for(answered, timeout=20)
    (sent,) = sandbox.sent_messages(sender_a.phone_number_id)
    assert (message.status, message.wamid) == ("read", sent["wamid"])
    # The receipts were applied first: Meta's read time is before our answer arrived.
    assert message.read_at < message.accepted_at


def test_the_sweeper_requeues_a_message_whose_task_was_lost(sender_a, sandbox, celery_worker):
    from whatsapp.services.outbound import messages_sweep_stale

    sandbox.set_window(sender_a.phone_number_id, WA_ID)
    contact = customer(sender_a, WA_ID)
    with in_tenant(sender_a.org):
        # bulk_create sends no post_save: like a task lost between commit and broker.
        (message,) = WhatsAppMessage.objects.bulk_create(
            [
                WhatsAppMessage(
                    direction="outgoing",
                    status="queued",
                    contact=contact,
                    type="text",
                    content={"body": "late"},
                    phone_number_id=sender_a.phone_number_id,
                    timestamp=timezone.now(),
                )
            ]
        )
        WhatsAppMessage.objects.filter(pk=message.pk).update(
            updated_at=timezone.now() - timedelta(hours=1)
        )
        swept = messages_sweep_stale(
            unconfirmed_after=timedelta(hours=1), requeue_after=timedelta(minutes=10)
        )
    assert swept["requeued"] == [message.pk]
    (sent,) = wait_final(sender_a.org, [message.pk])
    assert sent.status == "accepted"


def test_an_incoming_message_is_marked_read_at_meta(
    sender_a, sender_b, sandbox, no_webhook_worker
) -> None:
    # No webhook worker: the row is made here, not by the worker racing the factory for the
    # same wamid.
    delivered = sandbox.customer_sends_text(sender_a.phone_number_id, WA_ID, "hello", wait=False)
    wamid = delivered["message"]["id"]
    contact = customer(sender_a, WA_ID)
    with in_tenant(sender_a.org):
        incoming = IncomingMessageFactory(
            contact=contact, wamid=wamid, phone_number_id=sender_a.phone_number_id
        )
    # Another organization cannot reach it: its schema has no such row.
    read_url = f"/api/v1/messages/{incoming.pk}/read/"
    assert admin_client(sender_b.org).post(read_url).status_code == 404
    assert sandbox.requests(path_contains="/messages") == []

    response = admin_client(sender_a.org).post(f"/api/v1/messages/{incoming.pk}/read/")
    assert response.status_code == 200, response.content
    assert response.json()["read_at"]
    (entry,) = sandbox.requests(path_contains="/messages")
    assert entry["body"] == {"messaging_product": "whatsapp", "status": "read", "message_id": wamid}
    assert entry["path"].endswith(f"/{sender_a.phone_number_id}/messages")


def test_an_outgoing_message_cannot_be_marked_read(sender_a, sandbox) -> None:
    contact = customer(sender_a, WA_ID)
    with in_tenant(sender_a.org):
        outgoing = OutgoingMessageFactory(
            status="failed", contact=contact, phone_number_id=sender_a.phone_number_id
        )
    response = admin_client(sender_a.org).post(f"/api/v1/messages/{outgoing.pk}/read/")
    assert response.status_code == 400 and response.json()["error"]["code"] == "not_incoming"


def test_each_org_sends_only_with_its_own_number_and_token(
    sender_a, sender_b, sandbox, celery_worker
) -> None:
    ids = {}
    for sender in (sender_a, sender_b):
        customer(sender, WA_ID, sandbox=sandbox)
        response = admin_client(sender.org).post(
            "/api/v1/messages/send/",
            {"to": WA_ID, "type": "text", "text": {"body": "hi"}},
            "application/json",
        )
        assert response.status_code == 202
        ids[sender.org.organization.slug] = response.json()["id"]
    for sender in (sender_a, sender_b):
        slug = sender.org.organization.slug
        (message,) = wait_final(sender.org, [ids[slug]])
        assert message.status == "accepted"
        (entry,) = accepted_sends(sandbox, sender.phone_number_id)
        assert entry["token_sha256"] == hashlib.sha256(TOKENS[slug].encode()).hexdigest()[:12]
        assert entry["body"]["biz_opaque_callback_data"] == str(message.client_reference)
    # B's API cannot use A's number (it is not B's) nor see A's message.
    b = admin_client(sender_b.org)
    response = b.post(
        "/api/v1/messages/send/",
        {
            "to": WA_ID,
            "type": "text",
            "text": {"body": "x"},
            "phone_number_id": sender_a.phone_number_id,
        },
        "application/json",
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "no_sending_number"
    with in_tenant(sender_a.org):
        a_ref = WhatsAppMessage.objects.get(pk=ids["alpha"]).client_reference
    with in_tenant(sender_b.org):
        assert not WhatsAppMessage.objects.filter(client_reference=a_ref).exists()
    assert Client(HTTP_HOST=sender_a.org.host).post("/api/v1/messages/send/").status_code == 401
