"""Edits/revokes and number changes end to end: signed POSTs over real HTTP to the platform
server, processed by the session's real worker, committed rows in the tenant's schema. The
arrival orders that used to leave loose edits and split contacts."""

from __future__ import annotations

import pytest

from tests.conftest import in_tenant, wait_for
from tests.inbound.conftest import FIXTURE_NUMBER_ID, FIXTURE_WABA_ID
from tests.inbound.test_edits_revokes import ORIGINAL, edit, original, revoke
from tests.inbound.test_identity import scenario
from whatsapp.models import Contact, WhatsAppMessage

pytestmark = pytest.mark.integration


def envelope(*values: dict) -> dict:
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {"id": FIXTURE_WABA_ID, "changes": [{"field": "messages", "value": v} for v in values]}
        ],
    }


def value_of(*messages: dict) -> dict:
    return {
        "messaging_product": "whatsapp",
        "metadata": {"phone_number_id": FIXTURE_NUMBER_ID},
        "contacts": [{"profile": {"name": "Ana"}, "wa_id": "5511999990000"}],
        "messages": list(messages),
    }


def test_revoke_and_edit_before_the_original_over_http(webhook, numbers, celery_worker, org_a):
    for message in (revoke(), edit(1, "pedido 124"), original()):
        assert webhook.post(envelope(value_of(message))).status_code == 200

    def applied():
        """the original is stored, edited and revoked"""
        with in_tenant(org_a):
            row = WhatsAppMessage.objects.filter(wamid=ORIGINAL).first()
            return row is not None and row.edited_at is not None and row.revoked_at is not None

    wait_for(applied)
    with in_tenant(org_a):
        row = WhatsAppMessage.objects.get(wamid=ORIGINAL)
        assert row.text == "pedido 124"
        assert [v["text"] for v in row.edit_history] == ["pedido 123"]
        assert WhatsAppMessage.objects.count() == 3


@pytest.mark.parametrize("together", [False, True])
def test_new_number_before_its_change_notice_over_http(
    webhook, numbers, celery_worker, org_a, together
):
    """The new number writes first; the change notice comes after (separate POSTs) or in the
    same POST as another change: one contact either way."""
    history, system, first_new, new, new_user = scenario(3, bsuid=True)
    assert webhook.post(envelope(history)).status_code == 200
    wait_for(lambda: in_tenant_count(org_a) == 1)
    if together:
        assert webhook.post(envelope(first_new, system)).status_code == 200
    else:
        assert webhook.post(envelope(first_new)).status_code == 200
        assert webhook.post(envelope(system)).status_code == 200

    def settled():
        """three messages stored and one contact left"""
        with in_tenant(org_a):
            return WhatsAppMessage.objects.count() == 3 and Contact.objects.count() == 1

    wait_for(settled)
    with in_tenant(org_a):
        contact = Contact.objects.get()
        assert (contact.wa_id, contact.user_id) == (new, new_user)
        senders = dict(WhatsAppMessage.objects.values_list("wamid", "from_wa_id"))
        assert senders["wamid.H.3"] == "5511900000003" and senders["wamid.N.3"] == new


def in_tenant_count(org) -> int:
    with in_tenant(org):
        return WhatsAppMessage.objects.count()
