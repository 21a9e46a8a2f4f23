"""Two requests carrying one Idempotency-Key at the same moment create one message: they meet
at the unique index and the loser returns the winner's row. Real PostgreSQL, two connections,
committed rows (`live_db`)."""

from __future__ import annotations

import pytest
from django_tenants.utils import tenant_context

from tests.conftest import in_tenant, run_concurrently
from whatsapp.models import WhatsAppMessage
from whatsapp.services.outbound import message_create_once

from .conftest import customer

pytestmark = [pytest.mark.integration]

WA_ID = "447911123456"


def test_concurrent_requests_with_one_key_create_one_message(sender_a) -> None:
    customer(sender_a, WA_ID)

    def request() -> tuple[int, bool]:
        with tenant_context(sender_a.org.organization):  # as a request on its host
            message, replayed = message_create_once(
                idempotency_key="same-key", to=WA_ID, message_type="text", content={"body": "once"}
            )
            return message.pk, replayed

    results = run_concurrently(request)

    assert sorted(replayed for _, replayed in results) == [False, True]
    assert results[0][0] == results[1][0]
    with in_tenant(sender_a.org):
        assert WhatsAppMessage.objects.filter(idempotency_key="same-key").count() == 1
