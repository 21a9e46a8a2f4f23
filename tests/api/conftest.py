"""Fixtures of the REST API tests: tokens, API keys and rows in a tenant's schema."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.test import Client

from tests.clients import api_client, obtain_tokens
from tests.conftest import OrgFixture, in_tenant
from tests.factories import ContactFactory, IncomingMessageFactory, MediaFactory
from whatsapp.models import Contact, WhatsAppMedia, WhatsAppMessage

T0 = datetime(2026, 1, 1, tzinfo=UTC)
_seq = itertools.count(1)


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
    """Creates contacts, messages and media inside one org's schema (tests.factories)."""

    def __init__(self, org: OrgFixture) -> None:
        self.org = org

    def contact(self, **fields: Any) -> Contact:
        with in_tenant(self.org):
            return ContactFactory(**fields)

    def message(self, contact: Contact | None = None, **fields: Any) -> WhatsAppMessage:
        n = next(_seq)
        defaults: dict[str, Any] = {
            "wamid": f"wamid.{self.org.organization.slug}.{n}",
            "timestamp": T0 + timedelta(seconds=n),
        }
        with in_tenant(self.org):
            return IncomingMessageFactory(
                contact=contact or ContactFactory(), **{**defaults, **fields}
            )

    def media(
        self,
        message: WhatsAppMessage | None = None,
        *,
        content: bytes | None = b"\x89PNG fake bytes",
        **fields: Any,
    ) -> WhatsAppMedia:
        message = message or self.message(type="image", text="a caption")
        if content is not None:
            fields = {
                "state": WhatsAppMedia.State.STORED,
                "size": len(content),
                "file": ContentFile(content, name="ignored"),
                **fields,
            }
        with in_tenant(self.org):
            return MediaFactory(message=message, **fields)


@pytest.fixture
def rows(db) -> Callable[[OrgFixture], Rows]:
    return Rows
