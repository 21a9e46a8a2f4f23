"""An organization reads its numbers' health and its account events on its own API, and never
another organization's."""

from __future__ import annotations

import pytest
from django.utils import timezone

from tenants.models import AccountEvent
from tests.clients import admin_client, api_client, obtain_tokens
from tests.factories import PhoneNumberFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def rows(org_a, org_b):
    now = timezone.now()
    PhoneNumberFactory(
        phone_number_id="7001",
        organization=org_a.organization,
        waba_id="w-a",
        display_number="+1 555 000 7001",
        quality_rating="RED",
        quality_event="FLAGGED",
        messaging_limit_tier="TIER_10K",
        health_updated_at=now,
    )
    PhoneNumberFactory(phone_number_id="7002", organization=org_b.organization, waba_id="w-b")
    AccountEvent.objects.create(
        organization=org_a.organization,
        change_id=1,
        field="account_update",
        waba_id="w-a",
        event="ACCOUNT_VIOLATION",
        value={"event": "ACCOUNT_VIOLATION"},
    )


def client(org):
    return admin_client(org)


def test_an_org_sees_its_own_number_health_and_account_events(rows, org_a):
    numbers = client(org_a).get("/api/v1/whatsapp/numbers/").json()
    assert numbers == [
        {
            "phone_number_id": "7001",
            "display_number": "+1 555 000 7001",
            "waba_id": "w-a",
            "quality_rating": "RED",
            "quality_event": "FLAGGED",
            "messaging_limit_tier": "TIER_10K",
            "health_updated_at": numbers[0]["health_updated_at"],
        }
    ]
    events = client(org_a).get("/api/v1/whatsapp/account-events/").json()
    assert [(e["field"], e["event"]) for e in events] == [("account_update", "ACCOUNT_VIOLATION")]


def test_another_org_sees_none_of_them(rows, org_b):
    numbers = client(org_b).get("/api/v1/whatsapp/numbers/").json()
    assert [n["phone_number_id"] for n in numbers] == ["7002"]
    assert client(org_b).get("/api/v1/whatsapp/account-events/").json() == []


def test_a_token_of_one_org_is_refused_on_the_other_host(rows, org_a, org_b):
    token = obtain_tokens(org_a)["access"]
    response = api_client(org_b, token=token).get("/api/v1/whatsapp/account-events/")
    assert response.status_code in (401, 403)
    assert b"ACCOUNT_VIOLATION" not in response.content
    assert api_client(org_a).get("/api/v1/whatsapp/numbers/").status_code == 401
