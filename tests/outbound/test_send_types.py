"""Every outbound type, sent through the API, the post_save signal, a real Celery worker and
real HTTP, reaches the sandbox in Meta's exact format (compared with the sandbox's recorded
request bodies), and every message ends `sent` with the wamid Meta answered."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.clients import admin_client
from tests.conftest import in_tenant
from tests.factories import OutgoingMessageFactory
from whatsapp.models import Contact, WhatsAppMedia, WhatsAppMessage

from .conftest import accepted_sends, customer, sent_bodies, wait_final

pytestmark = [pytest.mark.integration]

WA_ID = "5511987654321"
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00"
    b"\x90wS\xde\x00\x00\x00\x0cIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7\x35\x81\x84\x00"
    b"\x00\x00\x00IEND\xaeB`\x82"
)

# (request body minus `to`, the object Meta must receive under the type key)
CASES: list[tuple[dict, object]] = [
    ({"type": "text", "text": {"body": "Hello"}}, {"body": "Hello", "preview_url": False}),
    (
        {"type": "text", "text": {"body": "See https://x.test", "preview_url": True}},
        {"body": "See https://x.test", "preview_url": True},
    ),
    (
        {"type": "image", "image": {"link": "https://cdn.test/a.png", "caption": "Look"}},
        {"link": "https://cdn.test/a.png", "caption": "Look"},
    ),
    ({"type": "image", "image": {"id": "1234567890"}}, {"id": "1234567890"}),
    (
        {"type": "video", "video": {"link": "https://cdn.test/v.mp4"}},
        {"link": "https://cdn.test/v.mp4"},
    ),
    ({"type": "audio", "audio": {"id": "998877"}}, {"id": "998877"}),
    (
        {
            "type": "document",
            "document": {"link": "https://cdn.test/i.pdf", "filename": "i.pdf", "caption": "Inv"},
        },
        {"link": "https://cdn.test/i.pdf", "caption": "Inv", "filename": "i.pdf"},
    ),
    ({"type": "sticker", "sticker": {"id": "5566"}}, {"id": "5566"}),
    (
        {
            "type": "location",
            "location": {"latitude": -23.5, "longitude": "-46.6", "name": "HQ", "address": "Av"},
        },
        {"latitude": -23.5, "longitude": -46.6, "name": "HQ", "address": "Av"},
    ),
    (
        {
            "type": "contacts",
            "contacts": [
                {
                    "name": {"formatted_name": "Ana Lima", "first_name": "Ana"},
                    "phones": [
                        {"phone": "+5511999990000", "type": "CELL", "wa_id": "5511999990000"}
                    ],
                }
            ],
        },
        [
            {
                "name": {"formatted_name": "Ana Lima", "first_name": "Ana"},
                "phones": [{"phone": "+5511999990000", "type": "CELL", "wa_id": "5511999990000"}],
            }
        ],
    ),
    (
        {
            "type": "interactive",
            "interactive": {
                "type": "button",
                "header": {"type": "text", "text": "Order 42"},
                "body": {"text": "Confirm?"},
                "footer": {"text": "Shop"},
                "action": {
                    "buttons": [
                        {"type": "reply", "reply": {"id": "yes", "title": "Yes"}},
                        {"type": "reply", "reply": {"id": "no", "title": "No"}},
                    ]
                },
            },
        },
        {
            "type": "button",
            "header": {"type": "text", "text": "Order 42"},
            "body": {"text": "Confirm?"},
            "footer": {"text": "Shop"},
            "action": {
                "buttons": [
                    {"type": "reply", "reply": {"id": "yes", "title": "Yes"}},
                    {"type": "reply", "reply": {"id": "no", "title": "No"}},
                ]
            },
        },
    ),
    (
        {
            "type": "interactive",
            "interactive": {
                "type": "list",
                "body": {"text": "Pick a slot"},
                "action": {
                    "button": "Slots",
                    "sections": [
                        {
                            "title": "Monday",
                            "rows": [{"id": "m9", "title": "9:00", "description": "Morning"}],
                        }
                    ],
                },
            },
        },
        {
            "type": "list",
            "body": {"text": "Pick a slot"},
            "action": {
                "button": "Slots",
                "sections": [
                    {
                        "title": "Monday",
                        "rows": [{"id": "m9", "title": "9:00", "description": "Morning"}],
                    }
                ],
            },
        },
    ),
    (
        {
            "type": "interactive",
            "interactive": {
                "type": "cta_url",
                "body": {"text": "Track it"},
                "action": {
                    "name": "cta_url",
                    "parameters": {"display_text": "Open", "url": "https://shop.test/t/42"},
                },
            },
        },
        {
            "type": "cta_url",
            "body": {"text": "Track it"},
            "action": {
                "name": "cta_url",
                "parameters": {"display_text": "Open", "url": "https://shop.test/t/42"},
            },
        },
    ),
    (
        {
            "type": "template",
            "template": {
                "name": "order_update",
                "language": {"code": "en_US"},
                "components": [
                    {"type": "body", "parameters": [{"type": "text", "text": "Ana"}]},
                    {
                        "type": "button",
                        "sub_type": "quick_reply",
                        "index": 0,
                        "parameters": [{"type": "payload", "payload": "STOP"}],
                    },
                ],
            },
        },
        {
            "name": "order_update",
            "language": {"code": "en_US", "policy": "deterministic"},
            "components": [
                {"type": "body", "parameters": [{"type": "text", "text": "Ana"}]},
                {
                    "type": "button",
                    "sub_type": "quick_reply",
                    "index": "0",
                    "parameters": [{"type": "payload", "payload": "STOP"}],
                },
            ],
        },
    ),
    (
        {"type": "reaction", "reaction": {"message_id": "wamid.CUSTOMER1", "emoji": "👍"}},
        {"message_id": "wamid.CUSTOMER1", "emoji": "👍"},
    ),
]


def test_every_type_reaches_the_sandbox_in_metas_exact_format(
    sender_a, sandbox, celery_worker
) -> None:
    sandbox.create_template(
        "order_update",
        waba_id=f"9{sender_a.phone_number_id}",
        components=[
            {"type": "BODY", "text": "Hello {{1}}"},
            {"type": "BUTTONS", "buttons": [{"type": "QUICK_REPLY", "text": "Stop"}]},
        ],
    )
    customer(sender_a, WA_ID, sandbox=sandbox)
    client = admin_client(sender_a.org)
    ids, expected = [], {}
    for request_body, meta_object in CASES:
        response = client.post(
            "/api/v1/messages/send/", {"to": "+" + WA_ID, **request_body}, "application/json"
        )
        assert response.status_code == 202, response.content
        data = response.json()
        assert data["status"] == "queued"
        ids.append(data["id"])
        expected[data["client_reference"]] = (request_body["type"], meta_object)
    # A reply (context) to a customer's message.
    response = client.post(
        "/api/v1/messages/send/",
        {"to": WA_ID, "type": "text", "text": {"body": "Re"}, "reply_to": "wamid.Q1"},
        "application/json",
    )
    ids.append(response.json()["id"])
    reply_reference = response.json()["client_reference"]

    messages = wait_final(sender_a.org, ids)
    assert [m.status for m in messages] == ["accepted"] * len(ids), [
        (m.type, m.failure_reason, m.error_message) for m in messages
    ]

    bodies = {
        b["biz_opaque_callback_data"]: b for b in sent_bodies(sandbox, sender_a.phone_number_id)
    }
    assert len(bodies) == len(ids)  # one request per message
    for reference, (kind, meta_object) in expected.items():
        assert bodies[reference] == {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": WA_ID,
            "type": kind,
            kind: meta_object,
            "biz_opaque_callback_data": reference,
        }
    assert bodies[reply_reference]["context"] == {"message_id": "wamid.Q1"}

    wamids = {
        e["response"]["messages"][0]["id"]
        for e in accepted_sends(sandbox, sender_a.phone_number_id)
    }
    assert {m.wamid for m in messages} == wamids
    with in_tenant(sender_a.org):
        media = WhatsAppMedia.objects.filter(message_id__in=ids)
        assert media.count() == 6  # image x2, video, audio, document, sticker
        assert set(media.values_list("state", flat=True)) == {"referenced"}


def test_an_uploaded_file_is_stored_uploaded_to_meta_then_sent_by_id(
    sender_a, sandbox, celery_worker
) -> None:
    customer(sender_a, WA_ID, sandbox=sandbox)
    upload = SimpleUploadedFile("../../etc/photo.png", PNG, content_type="image/png")
    response = admin_client(sender_a.org).post(
        "/api/v1/messages/send/",
        {"to": WA_ID, "type": "image", "caption": "Our shop", "file": upload},
    )
    assert response.status_code == 202, response.content
    (message,) = wait_final(sender_a.org, [response.json()["id"]])
    assert message.status == "accepted", message.error_message

    uploads = [
        e
        for e in sandbox.requests(path_contains=f"/{sender_a.phone_number_id}/media")
        if e["method"] == "POST"
    ]
    assert len(uploads) == 1 and uploads[0]["status"] == 200
    media_id = uploads[0]["response"]["id"]
    (body,) = sent_bodies(sandbox, sender_a.phone_number_id)
    assert body["image"] == {"id": media_id, "caption": "Our shop"}
    with in_tenant(sender_a.org):
        media = WhatsAppMedia.objects.get(message_id=message.pk)
        assert (media.state, media.media_id, media.mime_type) == ("stored", media_id, "image/png")
        assert media.file.name.startswith("tenants/") and ".." not in media.file.name
        with media.file.open("rb") as handle:
            assert handle.read() == PNG


def test_a_message_created_from_the_orm_is_sent_by_the_worker_in_its_tenant(
    sender_a, sender_b, sandbox, celery_worker
) -> None:
    from django.db import transaction

    contact = customer(sender_b, WA_ID, sandbox=sandbox)
    # The enqueue runs at the outer commit, after the schema context was left: the signal
    # must still send the task for beta's schema.
    with transaction.atomic(), in_tenant(sender_b.org):
        message = OutgoingMessageFactory(contact=contact, text="From the ORM", phone_number_id="")
    (sent,) = wait_final(sender_b.org, [message.pk])
    assert sent.status == "accepted" and sent.phone_number_id == sender_b.phone_number_id
    (entry,) = accepted_sends(sandbox, sender_b.phone_number_id)
    assert entry["body"]["text"] == {"body": "From the ORM", "preview_url": False}
    assert entry["body"]["biz_opaque_callback_data"] == str(sent.client_reference)
    assert accepted_sends(sandbox, sender_a.phone_number_id) == []
    with in_tenant(sender_a.org):
        assert not WhatsAppMessage.objects.filter(client_reference=sent.client_reference).exists()
    with in_tenant(sender_b.org):
        assert Contact.objects.get(pk=contact.pk).wa_id == WA_ID
