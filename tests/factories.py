"""factory_boy factories for the models the tests build rows of.

Tenant models (contacts, messages, media) live in an organization's schema: create them inside
`tests.conftest.in_tenant(org)`. Shared models (users, memberships, numbers, raw webhook events
and their changes) live in the public schema. Every factory fills only what the model requires,
with unique values from a sequence; a test names the fields its assertion depends on.

    with in_tenant(org_a):
        contact = ContactFactory(wa_id="447911123456")
        IncomingMessageFactory(contact=contact, phone_number_id=number_id, text="hi")
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone
from factory.django import DjangoModelFactory

from tenants.models import Membership, PhoneNumber, RawWebhookEvent, WebhookChange
from tests.conftest import PASSWORD
from whatsapp.models import Contact, WhatsAppMedia, WhatsAppMessage

T0 = datetime(2026, 1, 1, tzinfo=UTC)


# --- Public schema ----------------------------------------------------------------------------


class UserFactory(DjangoModelFactory):
    """A user whose username is their email, with the suite's shared password."""

    class Meta:
        model = get_user_model()

    username = factory.Sequence(lambda n: f"user{n}@example.test")
    email = factory.LazyAttribute(lambda user: user.username)
    password = factory.django.Password(PASSWORD)


class MembershipFactory(DjangoModelFactory):
    """`MembershipFactory(organization=org.organization, role="admin")`: a user of the org."""

    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    role = Membership.Role.MEMBER


class PhoneNumberFactory(DjangoModelFactory):
    """One of an organization's WhatsApp numbers (pass `organization`)."""

    class Meta:
        model = PhoneNumber

    phone_number_id = factory.Sequence(lambda n: f"3{n:014d}")
    waba_id = factory.LazyAttribute(lambda number: f"9{number.phone_number_id}")
    display_number = factory.Sequence(lambda n: f"1555{n:07d}")


def _body(value: dict) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


class RawWebhookEventFactory(DjangoModelFactory):
    """A stored webhook POST; `body` defaults to a unique empty `whatsapp_business_account`
    payload, and `body_sha256` follows the body."""

    class Meta:
        model = RawWebhookEvent

    body = factory.Sequence(
        lambda n: _body({"object": "whatsapp_business_account", "entry": [], "n": n})
    )
    body_sha256 = factory.LazyAttribute(lambda event: hashlib.sha256(event.body).hexdigest())


class WebhookChangeFactory(DjangoModelFactory):
    """One `entry[].changes[]` item of a raw event (field `messages` unless given)."""

    class Meta:
        model = WebhookChange

    event = factory.SubFactory(RawWebhookEventFactory)
    entry_index = 0
    change_index = factory.Sequence(lambda n: n)
    field = "messages"
    value = factory.LazyFunction(dict)


# --- Tenant schema (create inside in_tenant) --------------------------------------------------


class ContactFactory(DjangoModelFactory):
    """A customer known by phone (`wa_id`); pass `wa_id=None, user_id=...` for a BSUID-only one."""

    class Meta:
        model = Contact

    wa_id = factory.Sequence(lambda n: f"1555{n:07d}")
    name = factory.Sequence(lambda n: f"Contact {n}")
    first_seen = T0
    last_seen = factory.Sequence(lambda n: T0 + timedelta(minutes=n))


class IncomingMessageFactory(DjangoModelFactory):
    """A text the contact sent to `phone_number_id` (received; `timestamp` now unless given)."""

    class Meta:
        model = WhatsAppMessage

    wamid = factory.Sequence(lambda n: f"wamid.test-in-{n}")
    direction = WhatsAppMessage.Direction.INCOMING
    status = WhatsAppMessage.Status.RECEIVED
    phone_number_id = "1000"
    contact = factory.SubFactory(ContactFactory)
    from_wa_id = factory.LazyAttribute(lambda message: message.contact.wa_id or "")
    type = "text"
    text = factory.Sequence(lambda n: f"hello {n}")
    raw = factory.LazyAttribute(
        lambda message: {"id": message.wamid, "type": message.type, "text": {"body": message.text}}
    )
    timestamp = factory.LazyFunction(timezone.now)


class OutgoingMessageFactory(DjangoModelFactory):
    """A text we send to the contact (queued, no wamid yet, unless given)."""

    class Meta:
        model = WhatsAppMessage

    wamid = None
    direction = WhatsAppMessage.Direction.OUTGOING
    status = WhatsAppMessage.Status.QUEUED
    phone_number_id = "1000"
    contact = factory.SubFactory(ContactFactory)
    recipient = factory.LazyAttribute(lambda message: message.contact.wa_id or "")
    type = "text"
    content = factory.LazyAttribute(lambda message: {"body": message.text})
    text = factory.Sequence(lambda n: f"outgoing {n}")
    timestamp = factory.LazyFunction(timezone.now)


class MediaFactory(DjangoModelFactory):
    """The media of an incoming image message, not downloaded yet (`state` pending). Pass
    `file=ContentFile(...)` (and `state="stored"`) for stored bytes."""

    class Meta:
        model = WhatsAppMedia

    message = factory.SubFactory(IncomingMessageFactory, type="image", text="a caption")
    media_id = factory.Sequence(lambda n: f"media-{n}")
    mime_type = "image/png"
    sha256 = "ab" * 32
