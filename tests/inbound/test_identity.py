"""Identity changes in any order, and contact merges.

`user_changed_number` (from the old number, naming the new one) and the first message from the
new number may arrive in either order, or be processed at the same time by two workers: the
outcome must always be one contact holding the new ids and every message. The ordered cases use
the `db` fixture (rolled back); the concurrent case uses committed data (`live_db`) and two
threads, each with its own database connection and transaction, like two workers.
"""

from __future__ import annotations

import itertools

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction
from django_tenants.utils import schema_context

from tests.conftest import in_tenant, run_concurrently
from whatsapp.models import Contact, ContactIdentityChange, ContactMerge, WhatsAppMessage
from whatsapp.services.contacts import (
    ContactMergeError,
    ContactNotFoundError,
    contact_merge,
)
from whatsapp.services.inbound import inbound_change_apply

PNID = "106540352242922"


def change(message: dict, *, wa_id: str = "", user_id: str = "") -> dict:
    profile = {"profile": {"name": "Ana"}}
    if wa_id:
        profile["wa_id"] = wa_id
    if user_id:
        profile["user_id"] = user_id
    return {
        "messaging_product": "whatsapp",
        "metadata": {"phone_number_id": PNID},
        "contacts": [profile],
        "messages": [message],
    }


def text(wamid: str, wa_id: str, user_id: str = "", ts: int = 1750857000) -> dict:
    message = {"from": wa_id, "id": wamid, "timestamp": str(ts), "type": "text"}
    message["text"] = {"body": wamid}
    if user_id:
        message["from_user_id"] = user_id
    return change(message, wa_id=wa_id, user_id=user_id)


def changed_number(wamid: str, old: str, new: str, old_user: str = "", new_user: str = "") -> dict:
    system = {"type": "user_changed_number", "body": f"changed to {new}", "wa_id": new}
    if new_user:
        system["user_id"] = new_user
    message = {"from": old, "id": wamid, "timestamp": "1750857100", "type": "system"}
    message["system"] = system
    if old_user:
        message["from_user_id"] = old_user
    return change(message, wa_id=old, user_id=old_user)


def apply(value: dict) -> None:
    inbound_change_apply(value=value, phone_number_id=PNID)


def scenario(n: int, *, bsuid: bool | str) -> tuple[dict, dict, dict, str, str]:
    """(history from the old number, the system message, the new number's first message, the
    new number, the new BSUID). `bsuid`: False (phones only), True (BSUIDs everywhere) or
    "unannounced" (BSUIDs, but the notice does not name the new one)."""
    old, new = f"55119{n:08d}", f"55118{n:08d}"
    old_user, new_user = (f"BR.OLD{n}", f"BR.NEW{n}") if bsuid else ("", "")
    announced = new_user if bsuid is True else ""
    return (
        text(f"wamid.H.{n}", old, old_user, ts=1750850000),
        changed_number(f"wamid.S.{n}", old, new, old_user, announced),
        text(f"wamid.N.{n}", new, new_user, ts=1750857200),
        new,
        new_user,
    )


def assert_one_contact(n: int, new: str, new_user: str) -> None:
    contacts = list(Contact.objects.all())
    assert len(contacts) == 1, [(c.wa_id, c.user_id) for c in contacts]
    (contact,) = contacts
    assert contact.wa_id == new
    assert (contact.user_id or "") == new_user
    messages = WhatsAppMessage.objects.filter(wamid__endswith=f".{n}")
    assert messages.count() == 3
    assert set(messages.values_list("contact_id", flat=True)) == {contact.pk}
    # Each message keeps the sender id Meta gave it.
    senders = dict(messages.values_list("wamid", "from_wa_id"))
    assert senders[f"wamid.H.{n}"] == senders[f"wamid.S.{n}"] == f"55119{n:08d}"
    assert senders[f"wamid.N.{n}"] == new
    assert contact.last_inbound_at.timestamp() == 1750857200


@pytest.mark.parametrize("bsuid", [False, True, "unannounced"])
@pytest.mark.parametrize("order", list(itertools.permutations(range(3))))
def test_number_change_in_any_order_ends_as_one_contact(db, org_a, bsuid, order):
    """History from the old number (sent before the change, maybe delivered late), the system
    message, the new number's first message: all six arrival orders give the same contact."""
    *values, new, new_user = scenario(1, bsuid=bsuid)
    with in_tenant(org_a):
        for index in order:
            apply(values[index])
        assert_one_contact(1, new, new_user)
        change = ContactIdentityChange.objects.get()
        assert (change.old_wa_id, change.new_wa_id) == ("5511900000001", new)
        if order.index(2) < order.index(1):  # the new number wrote before the system message
            merge = ContactMerge.objects.get()
            assert merge.actor == "system" and "user_changed_number" in merge.reason
            assert merge.merged_wa_id == new and merge.moved_messages == 1


def test_old_number_used_after_the_change_is_someone_else(db, org_a):
    """A number that changed hands: a message sent from it after the change is not the old
    owner's."""
    history, system, *_ = scenario(2, bsuid=False)
    with in_tenant(org_a):
        apply(history)
        apply(system)
        apply(text("wamid.LATER.2", "5511900000002", ts=1750860000))
        assert Contact.objects.count() == 2
        assert WhatsAppMessage.objects.get(wamid="wamid.LATER.2").contact.wa_id == "5511900000002"


def _apply_in_own_transaction(schema: str, value: dict) -> None:
    with schema_context(schema), transaction.atomic():
        apply(value)


@pytest.mark.parametrize("bsuid", [False, True, "unannounced"])
def test_number_change_processed_concurrently_ends_as_one_contact(live_db, org_a, bsuid):
    for n in range(12):
        history, system, first_new, new, new_user = scenario(n, bsuid=bsuid)
        with in_tenant(org_a):
            apply(history)
        pending = [system, first_new] if n % 2 else [first_new, system]
        run_concurrently(lambda p=pending: _apply_in_own_transaction(org_a.schema, p.pop()))
        with in_tenant(org_a):
            assert_one_contact(n, new, new_user)
            WhatsAppMessage.objects.all().delete()
            ContactMerge.objects.all().delete()
            Contact.objects.all().delete()


def make_contact(**fields) -> Contact:
    return Contact.objects.create(**fields)


def make_message(contact: Contact, wamid: str, ts: int) -> WhatsAppMessage:
    from datetime import UTC, datetime

    return WhatsAppMessage.objects.create(
        wamid=wamid,
        direction="incoming",
        status="received",
        phone_number_id=PNID,
        contact=contact,
        type="text",
        from_wa_id=contact.wa_id or "",
        timestamp=datetime.fromtimestamp(ts, tz=UTC),
    )


def test_merge_moves_messages_window_opt_out_and_keeps_an_audit(db, org_a):
    from datetime import UTC, datetime

    t = lambda s: datetime.fromtimestamp(s, tz=UTC)  # noqa: E731
    with in_tenant(org_a):
        survivor = make_contact(wa_id="5511000000001", first_seen=t(200), last_inbound_at=t(300))
        merged = make_contact(
            user_id="BR.MERGED1",
            name="Ana",
            first_seen=t(100),
            last_inbound_at=t(900),
            opted_out_at=t(500),
        )
        make_message(survivor, "wamid.M1", 250)
        make_message(merged, "wamid.M2", 150)
        audit = contact_merge(
            survivor_id=survivor.pk, merged_id=merged.pk, reason="same person", actor="user:7"
        )
        assert not Contact.objects.filter(pk=merged.pk).exists()
        survivor.refresh_from_db()
        assert survivor.user_id == "BR.MERGED1" and survivor.name == "Ana"
        assert survivor.first_seen == t(100) and survivor.last_inbound_at == t(900)
        assert survivor.opted_out_at == t(500)
        assert set(WhatsAppMessage.objects.values_list("contact_id", flat=True)) == {survivor.pk}
        # The moved message still says who Meta said sent it.
        assert WhatsAppMessage.objects.get(wamid="wamid.M2").from_wa_id == ""
        assert (audit.merged_contact_id, audit.merged_user_id, audit.actor) == (
            merged.pk,
            "BR.MERGED1",
            "user:7",
        )
        assert audit.moved_messages == 1 and audit.reason == "same person"


def test_merge_refuses_itself_and_missing_contacts(db, org_a):
    with in_tenant(org_a):
        contact = make_contact(wa_id="5511000000002")
        with pytest.raises(ContactMergeError):
            contact_merge(survivor_id=contact.pk, merged_id=contact.pk, reason="x")
        with pytest.raises(ContactNotFoundError):
            contact_merge(survivor_id=contact.pk, merged_id=contact.pk + 999, reason="x")


def test_merge_cannot_reach_another_tenants_contact(db, org_a, org_b):
    with in_tenant(org_b):
        theirs = make_contact(wa_id="5511000000003")
        make_message(theirs, "wamid.B1", 100)
    with in_tenant(org_a):
        ours = make_contact(wa_id="5511000000004", pk=theirs.pk + 1)
        with pytest.raises(ContactNotFoundError):
            contact_merge(survivor_id=ours.pk, merged_id=theirs.pk, reason="x")
    with in_tenant(org_b):
        assert Contact.objects.filter(pk=theirs.pk).exists()
        assert WhatsAppMessage.objects.get(wamid="wamid.B1").contact_id == theirs.pk


def test_merge_contacts_command(db, org_a, org_b):
    with in_tenant(org_a):
        survivor = make_contact(wa_id="5511000000005")
        merged = make_contact(wa_id="5511000000006")
        make_message(merged, "wamid.C1", 100)
    call_command(
        "merge_contacts",
        org=org_a.organization.slug,
        survivor=survivor.pk,
        merged=merged.pk,
    )
    with in_tenant(org_a):
        assert list(Contact.objects.values_list("pk", flat=True)) == [survivor.pk]
        assert ContactMerge.objects.get().actor == "manage.py merge_contacts"
    with pytest.raises(CommandError):
        call_command("merge_contacts", org=org_b.organization.slug, survivor=survivor.pk, merged=1)
    with pytest.raises(CommandError):
        call_command("merge_contacts", org="nope", survivor=1, merged=2)


def test_merged_number_keeps_finding_the_survivor_for_messages_sent_before_the_merge(db, org_a):
    with in_tenant(org_a):
        survivor = make_contact(wa_id="5511000000007")
        merged = make_contact(wa_id="5511000000008")
        contact_merge(survivor_id=survivor.pk, merged_id=merged.pk, reason="two phones", actor="u")
        former = ContactIdentityChange.objects.get()
        assert (former.contact_id, former.old_wa_id) == (survivor.pk, "5511000000008")
        apply(text("wamid.LATE.8", "5511000000008", ts=1750000000))  # sent before the merge
        assert WhatsAppMessage.objects.get(wamid="wamid.LATE.8").contact_id == survivor.pk
        assert Contact.objects.count() == 1


def test_outbound_helpers_find_or_create_and_never_steal_a_wa_id(db, org_a):
    from whatsapp.services.contacts import contact_for_address, contact_wa_id_confirm

    with in_tenant(org_a):
        by_phone = contact_for_address(wa_id="5511000000009")
        assert contact_for_address(wa_id="5511000000009").pk == by_phone.pk
        by_bsuid = contact_for_address(user_id="BR.OUT9")
        assert by_bsuid.wa_id is None and by_bsuid.last_inbound_at is None
        # Meta's normalised number is taken when free, refused when another contact holds it.
        assert contact_wa_id_confirm(contact_id=by_bsuid.pk, wa_id="5511000000010")
        assert Contact.objects.get(pk=by_bsuid.pk).wa_id == "5511000000010"
        assert not contact_wa_id_confirm(contact_id=by_bsuid.pk, wa_id="5511000000009")
        assert Contact.objects.get(pk=by_phone.pk).wa_id == "5511000000009"
        with pytest.raises(ValueError):
            contact_for_address()
