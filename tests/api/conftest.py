"""Fixtures of the REST API tests: tokens, API keys and rows in a tenant's schema."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.test import Client

from tests.conftest import PASSWORD, OrgFixture, in_tenant
from whatsapp.models import Contact, WhatsAppMedia, WhatsAppMessage

T0 = datetime(2026, 1, 1, tzinfo=UTC)
_seq = itertools.count(1)


def api_client(org: OrgFixture, *, token: str | None = None, api_key: str | None = None) -> Client:
    headers: dict[str, str] = {"HTTP_HOST": org.host}
    if token:
        headers["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    if api_key:
        headers["HTTP_AUTHORIZATION"] = f"Api-Key {api_key}"
    return Client(**headers)


def obtain_tokens(org: OrgFixture, email: str | None = None) -> dict[str, str]:
    response = Client(HTTP_HOST=org.host).post(
        "/api/v1/auth/token/",
        {"username": email or org.admin_email, "password": PASSWORD},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    return response.json()


@pytest.fixture
def jwt(db) -> Callable[[OrgFixture], str]:
    """`jwt(org)`: an access token of org's admin, obtained on org's host."""
    return lambda org: obtain_tokens(org)["access"]


@pytest.fixture
def client_for(jwt) -> Callable[[OrgFixture], Client]:
    """`client_for(org)`: a client on org's host authenticated as org's admin."""
    return lambda org: api_client(org, token=jwt(org))


@pytest.fixture
def api_key(db) -> Callable[[OrgFixture], str]:
    """`api_key(org)`: a fresh API key of org."""
    from tenants.api_keys import api_key_create

    def make(org: OrgFixture, name: str = "server") -> str:
        return api_key_create(organization=org.organization, name=name, created_by=None)[1]

    return make


class Rows:
    """Creates contacts, messages and media inside one org's schema."""

    def __init__(self, org: OrgFixture) -> None:
        self.org = org

    def contact(self, **fields: Any) -> Contact:
        n = next(_seq)
        defaults: dict[str, Any] = {
            "wa_id": f"1555{n:07d}",
            "name": f"Contact {n}",
            "first_seen": T0,
            "last_seen": T0 + timedelta(minutes=n),
        }
        with in_tenant(self.org):
            return Contact.objects.create(**{**defaults, **fields})

    def message(self, contact: Contact | None = None, **fields: Any) -> WhatsAppMessage:
        n = next(_seq)
        contact = contact or self.contact()
        defaults: dict[str, Any] = {
            "wamid": f"wamid.{self.org.organization.slug}.{n}",
            "direction": WhatsAppMessage.Direction.INCOMING,
            "phone_number_id": "1000",
            "contact": contact,
            "type": "text",
            "status": WhatsAppMessage.Status.RECEIVED,
            "text": f"hello {n}",
            "raw": {"id": f"wamid.{n}", "type": "text", "text": {"body": f"hello {n}"}},
            "timestamp": T0 + timedelta(seconds=n),
        }
        with in_tenant(self.org):
            return WhatsAppMessage.objects.create(**{**defaults, **fields})

    def media(
        self,
        message: WhatsAppMessage | None = None,
        *,
        content: bytes | None = b"\x89PNG fake bytes",
        **fields: Any,
    ) -> WhatsAppMedia:
        message = message or self.message(type="image", text="a caption")
        defaults: dict[str, Any] = {
            "message": message,
            "media_id": f"media-{next(_seq)}",
            "mime_type": "image/png",
            "sha256": "ab" * 32,
            "original_filename": "",
            "state": WhatsAppMedia.State.STORED if content is not None else "pending",
        }
        with in_tenant(self.org):
            media = WhatsAppMedia(**{**defaults, **fields})
            if content is not None:
                media.size = len(content)
                media.file.save("ignored", ContentFile(content), save=False)
            media.save()
            return media


@pytest.fixture
def rows(db) -> Callable[[OrgFixture], Rows]:
    return Rows
