"""Fixtures of the campaign tests: a connected number with an approved template stored (and,
for integration tests, the same template in the sandbox), tagged contacts, and helpers that act
inside an organization as the request or the worker would (`tenant_context`: services read
the current organization)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from django.utils import timezone
from django_tenants.utils import tenant_context

from tests.conftest import OrgFixture
from tests.outbound.conftest import NUMBER_IDS, connect
from whatsapp.message_templates.models import MessageTemplate
from whatsapp.models import Contact, ContactTag

BODY = "Hi {{first_name}}, your code is {{code}}."
COMPONENTS = [
    {
        "type": "BODY",
        "text": BODY,
        "example": {
            "body_text_named_params": [
                {"param_name": "first_name", "example": "Ana"},
                {"param_name": "code", "example": "X1"},
            ]
        },
    }
]


@contextlib.contextmanager
def acting_as(org: OrgFixture) -> Iterator[None]:
    """Inside the org's schema with the org as the connection's tenant (as a request)."""
    with tenant_context(org.organization):
        yield


def number(org: OrgFixture, *, mps: int = 80, tier: str = "") -> str:
    """Connect the org's number (the outbound tests' `connect`) with a messaging-limit tier."""
    from tenants.models import PhoneNumber

    sender = connect(org, mps=mps)
    PhoneNumber.objects.filter(phone_number_id=sender.phone_number_id).update(
        messaging_limit_tier=tier
    )
    return sender.phone_number_id


def stored_template(
    org: OrgFixture, *, name: str = "promo", category: str = "UTILITY", status: str = "APPROVED"
) -> MessageTemplate:
    """The approved NAMED template `promo` stored for the org's number's WABA."""
    with acting_as(org):
        return MessageTemplate.objects.create(
            waba_id=f"9{NUMBER_IDS[org.organization.slug]}",
            name=name,
            language="en_US",
            category=category,
            parameter_format="NAMED",
            components=COMPONENTS,
            status=status,
        )


def sandbox_template(sandbox: Any, org: OrgFixture, *, name: str = "promo",
                     category: str = "UTILITY") -> None:  # fmt: skip
    sandbox.create_template(
        name,
        waba_id=f"9{NUMBER_IDS[org.organization.slug]}",
        category=category,
        components=COMPONENTS,
        parameter_format="NAMED",
    )


def tagged_contacts(
    org: OrgFixture, count: int, *, tag: str = "vip", start: int = 0, prefix: str = "4479111"
) -> list[Contact]:
    """`count` contacts tagged `tag`, UK numbers `<prefix><5 digits>`, named "Name<i> Test"."""
    with acting_as(org):
        contacts = Contact.objects.bulk_create(
            [
                Contact(
                    wa_id=f"{prefix}{start + i:05d}",
                    name=f"Name{start + i} Test",
                    last_seen=timezone.now(),
                )
                for i in range(count)
            ]
        )
        ContactTag.objects.bulk_create([ContactTag(contact=c, name=tag) for c in contacts])
    return contacts
