"""The other half of at-most-once: a send whose answer was lost is settled by Meta's receipt.

The send times out after the sandbox accepted it (no wamid reaches us, the row stays
`sending`); the sandbox then posts the status webhooks, signed, to the platform's shared
endpoint; the inbound pipeline matches them by `biz_opaque_callback_data` (the row's
client_reference), fills in the wamid and moves the status forward. Real worker, real HTTP.
"""

from __future__ import annotations

import pytest

from tests.conftest import in_tenant, wait_for
from tests.factories import OutgoingMessageFactory
from whatsapp.models import WhatsAppMessage

from .conftest import accepted_sends, customer

pytestmark = [pytest.mark.integration]

WA_ID = "447911123456"


def test_a_lost_send_answer_is_settled_by_the_status_webhook(
    sender_a, sandbox, celery_worker, webhook_worker, settings
) -> None:
    settings.WHATSAPP_GRAPH_TIMEOUT = 0.5
    sandbox.set_window_enforcement(False)
    sandbox.update_config(auto_status=True)
    sandbox.add_fault("timeout_after_accept", count=1, seconds=1.0, path_regex=r"/messages$")
    contact = customer(sender_a, WA_ID)
    with in_tenant(sender_a.org):
        message = OutgoingMessageFactory(
            contact=contact,
            text="did this arrive?",
            phone_number_id=sender_a.phone_number_id,
            timestamp=contact.last_inbound_at,
        )

    def settled_by_receipt() -> WhatsAppMessage | None:
        with in_tenant(sender_a.org):
            row = WhatsAppMessage.objects.get(pk=message.pk)
        return row if row.status == "read" and row.wamid else None

    row = wait_for(settled_by_receipt, timeout=20)
    (accepted,) = accepted_sends(sandbox, sender_a.phone_number_id)
    assert accepted["body"]["biz_opaque_callback_data"] == str(row.client_reference)
    assert row.wamid == accepted["response"]["messages"][0]["id"]
    assert row.attempts == 1
    assert row.sent_at and row.delivered_at and row.read_at
