"""Fixtures of the outbound tests: the sandbox (a real HTTP Meta simulator on a loopback port),
connected numbers and tokens for the session orgs, JWT clients, and polling helpers.

Integration tests use `live_db` (committed rows: the Celery worker and the sandbox's webhooks
run in other threads) and the session's real Celery worker. Every test starts with a clean
sandbox (requests, faults, tokens and windows reset) and a reset rate limiter.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from tests.conftest import OrgFixture, in_tenant, wait_for
from tests.factories import IncomingMessageFactory
from whatsapp.models import Contact, WhatsAppMessage

# States our pipeline is done with (Meta's receipts may still move a message further).
FINAL = {"accepted", "sent", "delivered", "read", "played", "failed"}
NUMBER_IDS = {"alpha": "110000000000001", "beta": "220000000000002"}
TOKENS = {"alpha": "EAAalpha-test-token-0001", "beta": "EAAbeta-test-token-0002"}


@pytest.fixture
def graph_url(sandbox, settings) -> str:
    """The reset sandbox, with send retries fast enough for tests."""
    settings.WHATSAPP_SEND_RETRY_BASE_DELAY = 0.05
    settings.WHATSAPP_SEND_RETRY_MAX_DELAY = 0.5
    return sandbox.base_url


@dataclass
class Sender:
    """An org connected to the sandbox: its number and token."""

    org: OrgFixture
    phone_number_id: str
    token: str


def connect(org: OrgFixture, *, mps: int = 80) -> Sender:
    from tenants.models import PhoneNumber
    from tenants.services.credentials import credential_store
    from whatsapp.services.ratelimit import SendRateLimiter

    slug = org.organization.slug
    number_id = NUMBER_IDS[slug]
    PhoneNumber.objects.update_or_create(
        phone_number_id=number_id,
        defaults={
            "organization": org.organization,
            "waba_id": f"9{number_id}",
            "display_number": f"1555{number_id[-7:]}",
            "messages_per_second": mps,
        },
    )
    credential_store(organization=org.organization, access_token=TOKENS[slug])
    SendRateLimiter(phone_number_id=number_id, messages_per_second=mps).reset()
    return Sender(org=org, phone_number_id=number_id, token=TOKENS[slug])


@pytest.fixture
def sender_a(live_db, org_a, graph_url) -> Sender:
    return connect(org_a)


@pytest.fixture
def sender_b(live_db, org_b, graph_url) -> Sender:
    return connect(org_b)


def customer(sender: Sender, wa_id: str, *, sandbox: Any = None, window: bool = True) -> Contact:
    """A contact of the sender's org; `window`: they wrote to the sender's number an hour ago
    (our record and, when `sandbox` is given, the sandbox's window for the number)."""
    with in_tenant(sender.org):
        contact, _ = Contact.objects.get_or_create(wa_id=wa_id)
        if window:
            customer_wrote(contact, phone_number_id=sender.phone_number_id)
    if window and sandbox is not None:
        sandbox.set_window(sender.phone_number_id, wa_id)
    return contact


def customer_wrote(contact: Contact, *, phone_number_id: str, hours_ago: float = 1) -> None:
    """Record an inbound message from `contact` to `phone_number_id` (opens its 24 h window).
    Call inside the contact's tenant."""
    at = timezone.now() - timedelta(hours=hours_ago)
    IncomingMessageFactory(
        wamid=f"wamid.test-inbound-{uuid.uuid4().hex}",
        phone_number_id=phone_number_id,
        contact=contact,
        timestamp=at,
    )
    Contact.objects.filter(pk=contact.pk).update(last_inbound_at=at)
    contact.last_inbound_at = at


def wait_final(org: OrgFixture, ids: list[int], *, timeout: float = 20.0) -> list[WhatsAppMessage]:
    """Wait until every message left queued/sending; returns them in `ids` order."""

    def settled() -> list[WhatsAppMessage] | None:
        with in_tenant(org):
            rows = {m.pk: m for m in WhatsAppMessage.objects.filter(pk__in=ids)}
        if len(rows) == len(ids) and all(m.status in FINAL for m in rows.values()):
            return [rows[i] for i in ids]
        return None

    return wait_for(settled, timeout=timeout)


def sent_bodies(sandbox: Any, phone_number_id: str) -> list[dict[str, Any]]:
    """JSON bodies of the message sends the sandbox recorded for a number (not mark-read)."""
    bodies = []
    for entry in sandbox.requests(path_contains=f"/{phone_number_id}/messages"):
        body = entry.get("body")
        if entry["method"] == "POST" and isinstance(body, dict) and body.get("type"):
            bodies.append(body)
    return bodies


def accepted_sends(sandbox: Any, phone_number_id: str) -> list[dict[str, Any]]:
    """Recorded sends the sandbox accepted (answered with a wamid), in arrival order."""
    return [
        entry
        for entry in sandbox.requests(path_contains=f"/{phone_number_id}/messages")
        if entry["method"] == "POST"
        and isinstance(entry.get("body"), dict)
        and entry["body"].get("type")
        and entry["status"] == 200
    ]
