"""Concurrent sends at the quota's edge: threads on their own connections, committed rows.
Documented bound: the limit is never passed (overshoot 0), because `quota_use` checks and
counts under the subscription's row lock inside each send's transaction."""

from __future__ import annotations

import pytest
from django_tenants.utils import tenant_context

from billing_stub.quota import QuotaExceeded
from tests.conftest import in_tenant, run_concurrently
from tests.factories import ContactFactory, PhoneNumberFactory
from tests.outbound.conftest import NUMBER_IDS, customer_wrote
from whatsapp.models import WhatsAppMessage
from whatsapp.services.outbound import message_create, messages_bulk_create

from .conftest import counted, plan_with, put_on

pytestmark = pytest.mark.integration
WA_ID = "5511987654321"


@pytest.fixture
def edge(enforced, live_billing, org_a):
    PhoneNumberFactory(phone_number_id=NUMBER_IDS["alpha"], organization=org_a.organization)
    with in_tenant(org_a):
        contact = ContactFactory(wa_id=WA_ID)
        customer_wrote(contact, phone_number_id=NUMBER_IDS["alpha"])
    put_on(org_a, plan_with(outbound_messages_per_month=5))
    return contact


def test_concurrent_single_sends_never_pass_the_quota(edge, org_a) -> None:
    def send() -> str:
        with tenant_context(org_a.organization):
            try:
                message_create(to=WA_ID, message_type="text", content={"body": "hi"})
            except QuotaExceeded:
                return "refused"
        return "sent"

    outcomes = run_concurrently(send, threads=8)
    assert sorted(outcomes) == ["refused"] * 3 + ["sent"] * 5
    with in_tenant(org_a):
        assert WhatsAppMessage.objects.filter(direction="outgoing").count() == 5
    assert counted(org_a, "outbound_messages") == 5


def test_concurrent_bulk_creates_never_pass_the_quota(edge, org_a) -> None:
    counter = iter(range(100))

    def bulk() -> str:
        batch = next(counter)
        rows = [
            {
                "contact_id": edge.pk,
                "recipient": WA_ID,
                "type": "text",
                "content": {"body": "hi"},
                "phone_number_id": NUMBER_IDS["alpha"],
                "idempotency_key": f"bulk-{batch}-{i}",
            }
            for i in range(2)
        ]
        with tenant_context(org_a.organization):
            try:
                messages_bulk_create(messages=rows)
            except QuotaExceeded:
                return "refused"
        return "sent"

    outcomes = run_concurrently(bulk, threads=4)
    # 2 + 2 fit in 5; a third batch of 2 would make 6.
    assert sorted(outcomes) == ["refused", "refused", "sent", "sent"]
    with in_tenant(org_a):
        assert WhatsAppMessage.objects.filter(direction="outgoing").count() == 4
    assert counted(org_a, "outbound_messages") == 4
