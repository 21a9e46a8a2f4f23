"""Recipients as Meta knows them, end to end: real HTTP to the platform (API and the sandbox's
signed webhooks), the session's real Celery worker, committed rows in the tenants' schemas.

The reported bug: a customer writes from 551187654321 (a Brazilian mobile registered before the
ninth digit); a reply typed as +5511987654321 a minute later was refused with 409 "has not
written in the last 24 hours", and a template to that form created a second contact.
"""

from __future__ import annotations

import pytest

from tests.clients import admin_client
from tests.conftest import in_tenant, wait_for
from tests.factories import ContactFactory, OutgoingMessageFactory
from whatsapp.models import Contact, WhatsAppMessage

from .conftest import accepted_sends, wait_final

pytestmark = [pytest.mark.integration]

REGISTERED = "551187654321"  # the customer's wa_id at Meta (8-digit form)
TYPED = "+5511987654321"  # what the business types (9-digit form)
TEMPLATE = {"name": "order_update", "language": {"code": "en_US"}}
# No variables: the sends below carry no parameters (Meta checks the count, 132000).
TEMPLATE_BODY = [{"type": "BODY", "text": "Your order was updated."}]


def _send(org, body: dict):
    return admin_client(org).post(
        "/api/v1/messages/send/", {"to": TYPED, **body}, "application/json"
    )


def _contacts(org) -> list[Contact]:
    with in_tenant(org):
        return list(Contact.objects.order_by("pk"))


def test_a_reply_and_a_template_to_another_form_land_on_the_customer_who_wrote(
    sender_a, sender_b, sandbox, celery_worker, webhook_worker
):
    sandbox.create_template(
        TEMPLATE["name"], waba_id=f"9{sender_a.phone_number_id}", components=TEMPLATE_BODY
    )
    sandbox.customer_sends_text(sender_a.phone_number_id, REGISTERED, "oi", wait=True)

    def wrote_in():
        with in_tenant(sender_a.org):
            return Contact.objects.filter(wa_id=REGISTERED, last_inbound_at__isnull=False).first()

    contact = wait_for(wrote_in, timeout=20)

    reply = _send(sender_a.org, {"type": "text", "text": {"body": "Olá!"}})
    assert reply.status_code == 202, reply.content
    template = _send(sender_a.org, {"type": "template", "template": TEMPLATE})
    assert template.status_code == 202, template.content

    sent = wait_final(sender_a.org, [reply.json()["id"], template.json()["id"]])
    assert [m.status for m in sent] == ["accepted", "accepted"]
    assert {m.contact_id for m in sent} == {contact.pk}
    assert [c.wa_id for c in _contacts(sender_a.org)] == [REGISTERED]
    # Meta was sent the typed form and answered the customer's registered wa_id.
    assert [e["body"]["to"] for e in accepted_sends(sandbox, sender_a.phone_number_id)] == [
        TYPED.lstrip("+")
    ] * 2
    assert {m["wa_id"] for m in sandbox.sent_messages(sender_a.phone_number_id)} == {REGISTERED}

    # Tenant B: the customer never wrote to B, so B's reply is refused and B gains no contact
    # of A's; A's contact and messages stay A's.
    refused = _send(sender_b.org, {"type": "text", "text": {"body": "hi"}})
    assert refused.status_code == 409, refused.content
    assert refused.json()["error"]["code"] == "outside_customer_window"
    with in_tenant(sender_b.org):
        assert not Contact.objects.filter(wa_id=REGISTERED).exists()
        assert not WhatsAppMessage.objects.filter(pk__in=[m.pk for m in sent]).exists()


def test_a_template_first_takes_metas_wa_id_so_the_customers_reply_finds_the_contact(
    sender_a, sandbox, celery_worker, webhook_worker
):
    sandbox.create_template(
        TEMPLATE["name"], waba_id=f"9{sender_a.phone_number_id}", components=TEMPLATE_BODY
    )
    sandbox.register_customer(REGISTERED)  # on WhatsApp, but has never written to us

    template = _send(sender_a.org, {"type": "template", "template": TEMPLATE})
    assert template.status_code == 202, template.content
    (message,) = wait_final(sender_a.org, [template.json()["id"]])
    assert message.status == "accepted"
    # The contact answered to Meta's wa_id right after the row says accepted (same task).
    wait_for(lambda: [c.wa_id for c in _contacts(sender_a.org)] == [REGISTERED])

    sandbox.customer_sends_text(sender_a.phone_number_id, REGISTERED, "obrigado", wait=True)

    def replied():
        with in_tenant(sender_a.org):
            return WhatsAppMessage.objects.filter(direction="incoming").first()

    incoming = wait_for(replied, timeout=20)
    assert incoming.contact_id == message.contact_id
    assert len(_contacts(sender_a.org)) == 1


def test_a_duplicate_contact_from_before_is_folded_into_the_one_meta_names(
    sender_a, sandbox, celery_worker, webhook_worker
):
    sandbox.customer_sends_text(sender_a.phone_number_id, REGISTERED, "oi", wait=True)

    def wrote_in():
        with in_tenant(sender_a.org):
            return Contact.objects.filter(wa_id=REGISTERED, last_inbound_at__isnull=False).first()

    customer = wait_for(wrote_in, timeout=20)
    with in_tenant(sender_a.org):
        # What the bug left behind: a second contact for the typed form, with a message.
        duplicate = ContactFactory(wa_id=TYPED.lstrip("+"))
        old = OutgoingMessageFactory(
            status="sent",
            contact=duplicate,
            type="template",
            phone_number_id=sender_a.phone_number_id,
        )

    reply = _send(sender_a.org, {"type": "text", "text": {"body": "Olá!"}})
    assert reply.status_code == 202, reply.content  # the window is found through the sibling
    (message,) = wait_final(sender_a.org, [reply.json()["id"]])
    assert message.status == "accepted"

    def linked():
        """the sent message moved to the contact Meta named (same task, after `accepted`)"""
        with in_tenant(sender_a.org):
            return WhatsAppMessage.objects.get(pk=message.pk).contact_id == customer.pk

    wait_for(linked)
    with in_tenant(sender_a.org):
        assert WhatsAppMessage.objects.get(pk=old.pk).contact_id == customer.pk
        assert not Contact.objects.filter(pk=duplicate.pk).exists()


def test_two_sends_to_two_forms_at_once_make_one_contact(live_db, org_a, org_b):
    """Two API requests typed differently for one new user, at the same instant (each thread on
    its own database connection): one contact, in A only."""
    from django.db import transaction

    from tests.conftest import run_concurrently
    from whatsapp.services.outbound.rules import contact_for_recipient, recipient_normalize

    picks = iter(["+5511987654321", "551187654321"])

    def create() -> int:
        recipient = recipient_normalize(recipient=next(picks))
        with in_tenant(org_a), transaction.atomic():
            return contact_for_recipient(recipient=recipient).pk

    first, second = run_concurrently(create)
    assert first == second
    assert len(_contacts(org_a)) == 1
    assert _contacts(org_b) == []
