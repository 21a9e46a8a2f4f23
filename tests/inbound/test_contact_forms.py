"""One WhatsApp user, several forms of their number (whatsapp.services.contacts).

Meta treats some forms of a phone number as one user (Brazil's ninth digit, Mexico's `521`;
whatsapp.graph.wa_id), on the inbound side (`from`) as on the send side (`contacts[].wa_id`).
Every writer of a contact's identity goes through whatsapp.services.contacts, so inbound
traffic, sending and Meta's send answer agree on one contact per user. Real PostgreSQL schemas
(the `db` fixture, rolled back).
"""

from __future__ import annotations

from tests.conftest import in_tenant
from tests.factories import ContactFactory
from whatsapp.models import Contact, ContactMerge, WhatsAppMessage
from whatsapp.services.contacts import contact_for_address, contact_wa_id_confirm
from whatsapp.services.inbound import inbound_change_apply

PNID = "106540352242922"


def text(wamid: str, wa_id: str, *, user_id: str = "", ts: int = 1750857000) -> dict:
    message = {"from": wa_id, "id": wamid, "timestamp": str(ts), "type": "text"}
    message["text"] = {"body": wamid}
    profile: dict = {"profile": {"name": "Ana"}, "wa_id": wa_id}
    if user_id:
        message["from_user_id"] = user_id
        profile["user_id"] = user_id
    return {
        "messaging_product": "whatsapp",
        "metadata": {"phone_number_id": PNID},
        "contacts": [profile],
        "messages": [message],
    }


def apply(value: dict) -> None:
    inbound_change_apply(value=value, phone_number_id=PNID)


def contact_of(wamid: str) -> Contact:
    return WhatsAppMessage.objects.select_related("contact").get(wamid=wamid).contact


def test_a_brazilian_customer_writing_from_both_forms_stays_one_contact(db, org_a):
    with in_tenant(org_a):
        apply(text("wamid.BR8", "551187654321", ts=1750850000))
        apply(text("wamid.BR9", "5511987654321", ts=1750857000))
        assert Contact.objects.count() == 1
        contact = contact_of("wamid.BR9")
        assert contact_of("wamid.BR8").pk == contact.pk
        # Meta's latest word on the user's wa_id is kept; each message keeps its own `from`.
        assert contact.wa_id == "5511987654321"
        assert WhatsAppMessage.objects.get(wamid="wamid.BR8").from_wa_id == "551187654321"
        # The other order, another customer: the same outcome.
        apply(text("wamid.BR9b", "5511987650000", ts=1750850000))
        apply(text("wamid.BR8b", "551187650000", ts=1750857000))
        assert contact_of("wamid.BR9b").pk == contact_of("wamid.BR8b").pk
        assert Contact.objects.count() == 2


def test_a_mexican_customer_with_and_without_the_1_is_one_contact(db, org_a):
    with in_tenant(org_a):
        apply(text("wamid.MX1", "5215512345678"))
        apply(text("wamid.MX2", "525512345678", ts=1750857100))
        assert contact_of("wamid.MX1").pk == contact_of("wamid.MX2").pk
        assert Contact.objects.count() == 1


def test_sending_finds_the_contact_an_inbound_form_created(db, org_a):
    with in_tenant(org_a):
        apply(text("wamid.IN8", "551187654321"))
        inbound = contact_of("wamid.IN8")
        assert contact_for_address(wa_id="5511987654321").pk == inbound.pk
        assert Contact.objects.count() == 1


def test_metas_answer_merges_a_duplicate_form_into_the_customer_who_wrote(db, org_a):
    """Two rows for one user (made before lookups matched forms): we sent to the 9-digit form,
    the customer wrote from the 8-digit one. Meta's send answer names the 8-digit wa_id: the
    typed contact is merged into the one that wrote, with its messages and an audit row."""
    with in_tenant(org_a):
        apply(text("wamid.OLD8", "551187654322"))
        holder = contact_of("wamid.OLD8")
        typed = ContactFactory(wa_id="5511987654322")
        assert contact_for_address(wa_id="5511987654322").pk == typed.pk  # exact form wins
        assert contact_wa_id_confirm(contact_id=typed.pk, wa_id="551187654322")
        assert list(Contact.objects.values_list("pk", flat=True)) == [holder.pk]
        audit = ContactMerge.objects.get()
        assert (audit.survivor_id, audit.merged_contact_id) == (holder.pk, typed.pk)
        assert audit.merged_wa_id == "5511987654322"
        assert contact_for_address(wa_id="5511987654322").pk == holder.pk


def test_another_form_held_by_another_bsuid_is_another_user(db, org_a):
    with in_tenant(org_a):
        apply(text("wamid.U1", "551187654323", user_id="BR.ONE"))
        apply(text("wamid.U2", "5511987654323", user_id="BR.TWO"))
        one, two = contact_of("wamid.U1"), contact_of("wamid.U2")
        assert one.pk != two.pk
        assert (one.wa_id, two.wa_id) == ("551187654323", "5511987654323")
        # Meta's answer naming one user's number never folds the other user in.
        assert not contact_wa_id_confirm(contact_id=two.pk, wa_id="551187654323")
        assert Contact.objects.count() == 2


def test_forms_are_matched_only_inside_the_tenant(db, org_a, org_b):
    with in_tenant(org_a):
        apply(text("wamid.A8", "551187654324"))
        a_contact = contact_of("wamid.A8")
    with in_tenant(org_b):
        apply(text("wamid.B9", "5511987654324"))
        b_contact = contact_of("wamid.B9")
        assert Contact.objects.count() == 1
        assert b_contact.wa_id == "5511987654324"
        assert contact_for_address(wa_id="551187654324").pk == b_contact.pk
    with in_tenant(org_a):
        assert list(Contact.objects.values_list("wa_id", flat=True)) == ["551187654324"]
        assert Contact.objects.get().pk == a_contact.pk


def test_many_addresses_at_once_find_every_form_and_create_the_rest(db, org_a):
    """`contacts_for_addresses` (a campaign's CSV of new numbers): the same answers as
    `contact_for_address` one by one, another form's holder included, in a few statements."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from whatsapp.services.contacts import contacts_for_addresses

    with in_tenant(org_a):
        apply(text("wamid.BULK8", "551187654325"))
        holder = contact_of("wamid.BULK8")
        bsuid_holder = ContactFactory(wa_id=None, user_id="BR.KNOWN")
        new_phones = [f"4479114{i:05d}" for i in range(50)]
        with CaptureQueriesContext(connection) as queries:
            by_wa_id, by_user_id, created = contacts_for_addresses(
                wa_ids=["5511987654325", *new_phones, new_phones[0]],
                user_ids=["BR.KNOWN", "BR.NEW"],
            )
        assert len(queries) <= 6
        assert by_wa_id["5511987654325"].pk == holder.pk  # the 8-digit form's contact
        assert by_user_id["BR.KNOWN"].pk == bsuid_holder.pk
        assert created == 51  # 50 phones (one named twice) and one BSUID
        assert Contact.objects.count() == 2 + 51
        assert {by_wa_id[p].wa_id for p in new_phones} == set(new_phones)
        assert by_user_id["BR.NEW"].user_id == "BR.NEW"
        # Named again (a second plan of the same file): found, nothing created.
        again = contacts_for_addresses(wa_ids=new_phones, user_ids=["BR.NEW"])
        assert again[2] == 0 and again[0][new_phones[7]].pk == by_wa_id[new_phones[7]].pk
