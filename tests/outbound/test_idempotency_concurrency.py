"""Two requests carrying one Idempotency-Key at the same moment create one message: they meet
at the unique index and the loser returns the winner's row. Real PostgreSQL, two connections,
committed rows (`live_db`)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection
from django_tenants.utils import tenant_context

from tests.conftest import in_tenant
from whatsapp.models import WhatsAppMessage
from whatsapp.services.outbound import message_create_once

from .conftest import customer

pytestmark = [pytest.mark.integration]

WA_ID = "447911123456"


def test_concurrent_requests_with_one_key_create_one_message(sender_a) -> None:
    customer(sender_a, WA_ID)
    start = threading.Barrier(2)
    results: list[tuple[int, bool]] = []
    errors: list[Exception] = []

    def request() -> None:
        try:
            with tenant_context(sender_a.org.organization):  # as a request on its host
                start.wait()
                message, replayed = message_create_once(
                    idempotency_key="same-key",
                    to=WA_ID,
                    message_type="text",
                    content={"body": "once"},
                )
                results.append((message.pk, replayed))
        except Exception as exc:  # surfaced by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=request) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert errors == []
    assert sorted(replayed for _, replayed in results) == [False, True]
    assert results[0][0] == results[1][0]
    with in_tenant(sender_a.org):
        assert WhatsAppMessage.objects.filter(idempotency_key="same-key").count() == 1
