"""Inbound through the sandbox: the simulated customer sends every type, the sandbox signs and
posts Meta's webhook to our endpoint over HTTP, the worker stores it in the owning tenant and
downloads media from the sandbox's Graph API with the tenant's token."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.files.storage import default_storage

from tests.conftest import in_tenant, wait_for
from tests.factories import ContactFactory, OutgoingMessageFactory
from tests.inbound.conftest import (
    FIXTURE_NUMBER_ID,
    FIXTURE_WABA_ID,
    OTHER_NUMBER_ID,
    OTHER_WABA_ID,
    TOKENS,
    load,
)
from whatsapp.models import WhatsAppMedia, WhatsAppMessage

pytestmark = pytest.mark.integration

CUSTOMER = "5511999990000"
# Per type: the fields the sandbox builds the type's object from, and what we must store.
TYPES = {
    "text": ({"body": "olá"}, "olá"),
    "image": ({"caption": "foto"}, "foto"),
    "video": ({"caption": "vídeo"}, "vídeo"),
    "audio": ({"voice": True}, ""),
    "document": ({"caption": "nota", "filename": "../../evil.pdf"}, "nota"),
    "sticker": ({"animated": True}, ""),
    "location": ({"latitude": 1.5, "longitude": 2.5, "name": "Aqui"}, "Aqui"),
    "contacts": ({}, "Ana Silva"),
    "interactive": ({}, "Yes"),
    "button": ({}, "Yes"),
    "reaction": ({"message_id": "wamid.X", "emoji": "❤️"}, "❤️"),
    "order": ({}, "my order"),
    "system": ({}, "User A changed from 15551234567 to 15557654321"),
    "edit": ({}, "edited text"),
    "revoke": ({}, ""),
    "unsupported": ({}, ""),
}


@pytest.fixture
def connected(sandbox, numbers):
    sandbox.register_phone_number(FIXTURE_NUMBER_ID, waba_id=FIXTURE_WABA_ID)
    sandbox.register_phone_number(OTHER_NUMBER_ID, waba_id=OTHER_WABA_ID)
    return sandbox


def stored(org, wamid: str) -> WhatsAppMessage | None:
    with in_tenant(org):
        return WhatsAppMessage.objects.select_related("contact").filter(wamid=wamid).first()


def stored_media(org, wamid: str) -> WhatsAppMedia | None:
    with in_tenant(org):
        return WhatsAppMedia.objects.filter(message__wamid=wamid).first()


def test_every_inbound_type_from_the_sandbox_is_stored_in_the_right_tenant(
    connected, webhook_worker, celery_worker, org_a, org_b
):
    sent = {}
    for kind, (fields, _) in TYPES.items():
        delivery = connected.customer_sends(FIXTURE_NUMBER_ID, CUSTOMER, kind, **fields)
        sent[kind] = delivery["message"]
    for kind, (_, text) in TYPES.items():
        wamid = sent[kind]["id"]
        message = wait_for(lambda wamid=wamid: stored(org_a, wamid))
        assert message.type == kind
        assert message.text == text
        assert message.raw == sent[kind]
        assert message.contact.wa_id in (CUSTOMER, "15557654321")
        assert stored(org_b, wamid) is None
    with in_tenant(org_b):
        assert not WhatsAppMessage.objects.exists()


def test_media_bytes_are_downloaded_verified_and_stored_per_tenant(
    connected, webhook_worker, celery_worker, org_a, org_b
):
    data = b"%PDF-1.4 sandbox document " + bytes(range(256)) * 8
    delivery = connected.customer_sends(
        FIXTURE_NUMBER_ID,
        CUSTOMER,
        "document",
        data=data,
        mime_type="application/pdf",
        filename="../../../etc/passwd",
        caption="contrato",
    )
    wamid = delivery["message"]["id"]
    media = wait_for(lambda: (m := stored_media(org_a, wamid)) and m.state == "stored" and m)
    assert media.size == len(data)
    assert media.sha256 == hashlib.sha256(data).hexdigest()
    assert media.mime_type == "application/pdf"
    assert media.original_filename == "../../../etc/passwd"
    name = media.file.name
    assert name.startswith(f"tenants/{org_a.org_id}/media/")
    assert name.endswith(".pdf")
    assert "passwd" not in name and ".." not in name
    with default_storage.open(name) as handle:
        assert handle.read() == data
    assert Path(django_settings.MEDIA_ROOT, name).is_file()
    with in_tenant(org_b):
        assert not WhatsAppMedia.objects.exists()


def test_voice_note_mime_parameters_do_not_reach_the_path(
    connected, webhook_worker, celery_worker, org_a
):
    delivery = connected.customer_sends(FIXTURE_NUMBER_ID, CUSTOMER, "audio", voice=True)
    wamid = delivery["message"]["id"]
    media = wait_for(lambda: (m := stored_media(org_a, wamid)) and m.state == "stored" and m)
    assert media.mime_type.startswith("audio/ogg")
    assert media.file.name.endswith(".ogg")


def test_transient_media_errors_are_retried_and_the_message_is_never_lost(
    connected, webhook_worker, celery_worker, org_a, settings
):
    settings.WHATSAPP_MEDIA_MAX_ATTEMPTS = 4
    settings.WHATSAPP_MEDIA_RETRY_BASE_DELAY = 0.01
    settings.WHATSAPP_MEDIA_RETRY_MAX_DELAY = 0.05
    connected.add_fault("http_5xx", status=503, count=2, method="GET", path_regex=r"^/v[\d.]+/\d+$")
    delivery = connected.customer_sends(FIXTURE_NUMBER_ID, CUSTOMER, "image", caption="x")
    wamid = delivery["message"]["id"]
    assert wait_for(lambda: stored(org_a, wamid)).text == "x"
    media = wait_for(lambda: (m := stored_media(org_a, wamid)) and m.state == "stored" and m)
    assert media.attempts == 2  # two failed attempts counted, the third stored it
    assert media.error == ""


def test_permanent_media_failure_marks_the_media_failed_but_keeps_the_message(
    connected, webhook_worker, celery_worker, org_a, settings
):
    settings.WHATSAPP_MEDIA_MAX_ATTEMPTS = 4
    settings.WHATSAPP_MEDIA_RETRY_BASE_DELAY = 0.01
    settings.WHATSAPP_MEDIA_RETRY_MAX_DELAY = 0.05
    connected.add_fault("error_code", code=100, count=1, method="GET", path_regex=r"^/v[\d.]+/\d+$")
    delivery = connected.customer_sends(FIXTURE_NUMBER_ID, CUSTOMER, "sticker")
    wamid = delivery["message"]["id"]
    media = wait_for(lambda: (m := stored_media(org_a, wamid)) and m.state == "failed" and m)
    assert media.attempts == 1
    assert not media.file
    assert stored(org_a, wamid).type == "sticker"


def test_an_expired_download_url_is_looked_up_again(connected, webhook_worker, org_a, numbers):
    """Real HTTP to the sandbox; only the first URL is made stale (as if 5 minutes passed)."""
    from whatsapp.services.media import download_media
    from whatsapp.services.meta_access import graph_client_for_org

    delivery = connected.customer_sends(FIXTURE_NUMBER_ID, CUSTOMER, "image", wait=True)
    wamid = delivery["message"]["id"]
    wait_for(lambda: stored_media(org_a, wamid))
    client = graph_client_for_org(org_a.org_id)
    original = client.get_media_url
    lookups = []

    def stale_first(media_id, phone_number_id=None):
        info = original(media_id, phone_number_id=phone_number_id)
        lookups.append(info.url)
        if len(lookups) == 1:
            return type(info)(**{**info.__dict__, "url": info.url.replace("expires=", "expires=1")})
        return info

    client.get_media_url = stale_first
    with in_tenant(org_a):
        media = WhatsAppMedia.objects.get(message__wamid=wamid)
        WhatsAppMedia.objects.filter(pk=media.pk).update(state="pending")
        result = download_media(media_pk=media.pk, client=client)
    assert len(lookups) == 2
    assert result.state == "stored"


def test_status_receipts_and_logs_without_tokens(
    connected, webhook_worker, celery_worker, org_a, caplog
):
    """Fixture receipts signed and delivered by the sandbox; the tenant's token never logged."""
    with caplog.at_level(logging.INFO):
        with in_tenant(org_a):
            message = OutgoingMessageFactory(
                wamid="wamid.OUTGOING-STATUS-1",
                phone_number_id=FIXTURE_NUMBER_ID,
                contact=ContactFactory(wa_id=CUSTOMER),
                status="sent",
            )
        for name in ("status_read", "status_sent", "status_delivered"):
            assert connected.post_raw_webhook(load(name))["state"] == "delivered"
        image = connected.customer_sends(FIXTURE_NUMBER_ID, CUSTOMER, "image")["message"]["id"]

        def converged():
            """read with all three timestamps"""
            with in_tenant(org_a):
                message.refresh_from_db()
            return message.status == "read" and message.sent_at and message.delivered_at

        wait_for(converged)
        # The download used the tenant's token against the sandbox.
        wait_for(lambda: (m := stored_media(org_a, image)) and m.state == "stored")
    for token in TOKENS.values():
        assert token not in caplog.text
