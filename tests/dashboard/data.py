"""Data for the dashboard's tests: a number whose quality dropped, a halted token, and messages
of the last days in an organization's schema."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from tenants.models import PhoneNumber
from tenants.services.credentials import credential_mark_invalid, credential_store
from tests.conftest import OrgFixture, in_tenant
from tests.factories import IncomingMessageFactory, OutgoingMessageFactory, PhoneNumberFactory


def dashboard_data(org: OrgFixture, *, numbers: int = 1) -> list[PhoneNumber]:
    """`numbers` numbers (the first RED after a DOWNGRADE), a token marked invalid, and in the
    org's schema: 3 messages received today and 2 three days ago; 4 sent today: 2 read,
    1 delivered, 1 failed with Meta's 131026."""
    phone_numbers = [
        PhoneNumberFactory(organization=org.organization, quality_rating="GREEN")
        for _ in range(numbers)
    ]
    PhoneNumber.objects.filter(pk=phone_numbers[0].pk).update(
        quality_rating="RED", quality_event="DOWNGRADE", messaging_limit_tier="TIER_1K"
    )
    credential_store(organization=org.organization, access_token="EAAG-dashboard-test")
    credential_mark_invalid(org_id=org.org_id, reason="token refresh failed")
    now = timezone.now()
    with in_tenant(org):
        IncomingMessageFactory.create_batch(3, timestamp=now)
        IncomingMessageFactory.create_batch(2, timestamp=now - timedelta(days=3))
        OutgoingMessageFactory.create_batch(2, status="read", wamid=None, timestamp=now)
        OutgoingMessageFactory(status="delivered", timestamp=now)
        OutgoingMessageFactory(
            status="failed",
            timestamp=now,
            error_code=131026,
            error_title="Message undeliverable",
        )
    return phone_numbers
