"""Signed media links: they serve the stored file to the organization that made them, inline
where the type allows (OGG/Opus with its codec), and nothing to anyone else: another
organization's host, an expired link, a forged one, a signed-out person."""

from __future__ import annotations

import time
from unittest import mock

import pytest
from django.core.files.base import ContentFile

from tests.conftest import in_tenant
from tests.factories import IncomingMessageFactory, MediaFactory
from whatsapp.inbox.media_links import MEDIA_LINK_SECONDS, media_link_token
from whatsapp.models import Conversation

pytestmark = pytest.mark.django_db

OGG = b"OggS\x00\x02" + b"\x00" * 40


def _stored(org, *, mime_type: str, body: bytes, kind: str = "audio"):
    with in_tenant(org):
        message = IncomingMessageFactory(type=kind, text="", phone_number_id="1000")
        return MediaFactory(
            message=message,
            mime_type=mime_type,
            state="stored",
            file=ContentFile(body, name="ignored.bin"),
        )


def test_a_voice_note_plays_inline_from_the_page_link(org_a, member_client):
    media = _stored(org_a, mime_type="audio/ogg; codecs=opus", body=OGG)
    client = member_client(org_a)
    with in_tenant(org_a):
        conversation = Conversation.objects.get(contact_id=media.message.contact_id)
    html = client.get(f"/inbox/{conversation.pk}/").content.decode()
    assert 'type="audio/ogg; codecs=&quot;opus&quot;"' in html
    link = html.split('<source src="', 1)[1].split('"', 1)[0]
    response = client.get(link)
    assert response.status_code == 200
    assert response["Content-Type"] == "audio/ogg; codecs=opus"
    assert response["Content-Disposition"].startswith("inline")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert b"".join(response.streaming_content) == OGG


def test_a_document_is_a_download_never_a_page(org_a, member_client):
    media = _stored(
        org_a, mime_type="text/html", body=b"<script>alert(1)</script>", kind="document"
    )
    with in_tenant(org_a):
        token = media_link_token(media_id=media.pk)
    response = member_client(org_a).get(f"/inbox/media/{token}/")
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")
    assert "sandbox" in response["Content-Security-Policy"]


def test_org_b_cannot_use_org_a_link(org_a, org_b, member_client):
    media = _stored(org_a, mime_type="image/png", body=b"\x89PNG....", kind="image")
    _stored(org_b, mime_type="image/png", body=b"\x89PNG-b", kind="image")  # B has a row too
    with in_tenant(org_a):
        token = media_link_token(media_id=media.pk)
    assert member_client(org_a).get(f"/inbox/media/{token}/").status_code == 200
    assert member_client(org_b).get(f"/inbox/media/{token}/").status_code == 404


def test_expired_forged_and_signed_out_links_are_refused(org_a, member_client, tenant_client):
    media = _stored(org_a, mime_type="image/png", body=b"\x89PNG....", kind="image")
    with in_tenant(org_a):
        with mock.patch("time.time", return_value=time.time() - MEDIA_LINK_SECONDS - 5):
            expired = media_link_token(media_id=media.pk)
        fresh = media_link_token(media_id=media.pk)
    client = member_client(org_a)
    assert client.get(f"/inbox/media/{expired}/").status_code == 404
    assert client.get(f"/inbox/media/{fresh[:-2]}xx/").status_code == 404
    signed_out = tenant_client(org_a).get(f"/inbox/media/{fresh}/")
    assert signed_out.status_code == 302
