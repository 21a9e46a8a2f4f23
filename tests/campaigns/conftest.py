"""Fixtures of the campaign tests: a connected number with an approved template stored (and,
for integration tests, the same template in the sandbox), tagged contacts, and helpers that act
inside an organization as the request or the worker would (`tenant_context`: services read
the current organization)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from tests.conftest import OrgFixture, wait_for
from tests.outbound.conftest import NUMBER_IDS, accepted_sends, connect
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


def planned_campaign(org: OrgFixture, *, name: str = "Spring", **fields: Any):
    """A campaign to the `vip` tag with the `promo` template, planned (inside `acting_as`)."""
    from whatsapp.campaigns.services.planning import campaign_create, campaign_plan

    definition = {
        "name": name,
        "template_name": "promo",
        "template_language": "en_US",
        "audience": {"tags": ["vip"]},
        "variables": {"code": {"column": "code", "fallback": "C-1"}},
    }
    with acting_as(org):
        campaign = campaign_create(**(definition | fields))
        return campaign_plan(campaign_id=campaign.pk)


def campaign_state(org: OrgFixture, campaign_id: int):
    from whatsapp.campaigns.models import Campaign

    with acting_as(org):
        return Campaign.objects.get(pk=campaign_id)


def wait_state(org: OrgFixture, campaign_id: int, *states: str, timeout: float = 30.0):
    """Wait until the campaign is in one of `states`; returns it."""

    def reached():
        campaign = campaign_state(org, campaign_id)
        return campaign if campaign.state in states else None

    return wait_for(reached, timeout=timeout, interval=0.1)


def sends_by_recipient(sandbox: Any, phone_number_id: str) -> dict[str, int]:
    """How many accepted template sends the sandbox recorded per recipient."""
    counts: dict[str, int] = {}
    for entry in accepted_sends(sandbox, phone_number_id):
        to = entry["body"].get("to") or entry["body"].get("recipient")
        counts[to] = counts.get(to, 0) + 1
    return counts


@pytest.fixture
def ready(live_db, org_a, sandbox, settings, celery_worker) -> str:
    """org_a's number (80/s) with the `promo` template at the sandbox and stored; committed
    rows, the session's worker, dispatcher ticks every 0.3 s. Returns the number's id."""
    settings.WHATSAPP_SEND_RETRY_BASE_DELAY = 0.05
    settings.WHATSAPP_SEND_RETRY_MAX_DELAY = 0.5
    settings.CAMPAIGN_TICK_SECONDS = 0.3
    number_id = number(org_a)
    sandbox_template(sandbox, org_a)
    stored_template(org_a)
    return number_id
