"""The set-based apply of a batch of `messages` changes (whatsapp.services.inbound_batch):
statement counts, contacts widened as sets, receipts forward-only in one UPDATE, the fallback to
the item path when a set statement fails, and tenant isolation.

Service-level tests in org_a's/org_b's schema with the `db` fixture (rolled back). Meta payload
shapes: https://developers.facebook.com/documentation/business-messaging/whatsapp/webhooks/reference/messages
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime

import pytest
from django.db import DataError, connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.conftest import in_tenant
from whatsapp.models import Contact, PendingStatus, WhatsAppMessage
from whatsapp.services.inbound import messages_changes_apply
from whatsapp.webhooks.handlers import ChangeInput

PNID = "106540352242922"
T0 = 1750857000


def text(n: int, sender: str, at: int, tag: str = "b") -> dict:
    return {
        "from": sender,
        "id": f"wamid.{tag}.{n}",
        "timestamp": str(at),
        "type": "text",
        "text": {"body": f"hello {n}"},
    }


def change(change_id: int, messages: list[dict] = (), statuses: list[dict] = ()) -> ChangeInput:
    senders = sorted({m["from"] for m in messages})
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550000000", "phone_number_id": PNID},
        "contacts": [{"profile": {"name": f"Customer {s[-3:]}"}, "wa_id": s} for s in senders],
        "messages": list(messages),
        "statuses": list(statuses),
    }
    return ChangeInput(change_id, "messages", PNID, "waba", value)


def batch(tag: str = "b") -> list[ChangeInput]:
    """20 changes x 10 messages from 10 senders (each sender in several changes)."""
    return [
        change(c, [text(10 * c + k, f"55119000{k:05d}", T0 + c, tag) for k in range(10)])
        for c in range(20)
    ]


def test_a_batch_of_200_messages_costs_a_few_statements(db, org_a, org_b):
    with in_tenant(org_a):
        with CaptureQueriesContext(connection) as queries:
            notes = messages_changes_apply(batch())
        assert notes == {c: "" for c in range(20)}
        # lock, savepoint, contacts (select, former ids, insert), messages (insert, waiting
        # edits), savepoint release: a constant, not ~7 per message (1,018 before).
        assert len(queries) <= 12, [q["sql"][:80] for q in queries]
        assert WhatsAppMessage.objects.filter(wamid__startswith="wamid.b.").count() == 200
        contacts = {c.wa_id: c for c in Contact.objects.all()}
        assert len(contacts) == 10
        first = contacts["5511900000003"]
        assert first.first_seen == datetime.fromtimestamp(T0, tz=UTC)
        assert first.last_seen == first.last_inbound_at == datetime.fromtimestamp(T0 + 19, tz=UTC)
        assert first.name == "Customer 003"
        assert set(WhatsAppMessage.objects.values_list("contact__wa_id", "from_wa_id")) == {
            (w, w) for w in contacts
        }
        # Redelivered: nothing stored twice; the contacts only get an UPDATE.
        with CaptureQueriesContext(connection) as queries:
            messages_changes_apply(batch())
        assert len(queries) <= 10
        assert WhatsAppMessage.objects.count() == 200
    with in_tenant(org_b):
        assert not WhatsAppMessage.objects.exists()
        assert not Contact.objects.exists()


def test_known_contacts_only_widen(db, org_a):
    with in_tenant(org_a):
        early = datetime.fromtimestamp(T0 - 3600, tz=UTC)
        late = datetime.fromtimestamp(T0 + 3600, tz=UTC)
        Contact.objects.create(
            wa_id="5511900000001",
            name="Old",
            first_seen=early,
            last_seen=late,
            last_inbound_at=late,
        )
        messages_changes_apply([change(1, [text(1, "5511900000001", T0)])])
        contact = Contact.objects.get(wa_id="5511900000001")
        assert (contact.first_seen, contact.last_seen, contact.last_inbound_at) == (
            early,
            late,
            late,
        )
        assert contact.name == "Customer 001"
        assert WhatsAppMessage.objects.get().contact_id == contact.pk


def test_a_sender_whose_identity_is_in_play_takes_the_locked_path(db, org_a):
    """A phone-only contact writes with its BSUID: it gains the BSUID, no second contact."""
    with in_tenant(org_a):
        known = Contact.objects.create(wa_id="5511900000001")
        message = text(1, "5511900000001", T0) | {"from_user_id": "BR.1234567890abcdef"}
        messages_changes_apply([change(1, [message, text(2, "5511900000002", T0)])])
        known.refresh_from_db()
        assert known.user_id == "BR.1234567890abcdef"
        assert Contact.objects.count() == 2
        assert WhatsAppMessage.objects.get(wamid="wamid.b.1").contact_id == known.pk


def outgoing(wamid: str, *, status: str = "accepted") -> WhatsAppMessage:
    contact, _ = Contact.objects.get_or_create(wa_id="5511999990000")
    return WhatsAppMessage.objects.create(
        wamid=wamid,
        client_reference=uuid.uuid4(),
        direction=WhatsAppMessage.Direction.OUTGOING,
        phone_number_id=PNID,
        contact=contact,
        recipient="5511999990000",
        type="text",
        status=status,
        timestamp=timezone.now(),
    )


def receipt(wamid: str, status: str, at: int, **extra) -> dict:
    return {
        "id": wamid,
        "status": status,
        "timestamp": str(at),
        "recipient_id": "5511999990000",
    } | extra


def test_receipts_apply_forward_only_in_one_update(db, org_a, org_b):
    with in_tenant(org_a):
        rows = [outgoing(f"wamid.out.{n}") for n in range(5)]
        incoming = WhatsAppMessage.objects.create(
            wamid="wamid.in.1",
            direction=WhatsAppMessage.Direction.INCOMING,
            phone_number_id=PNID,
            contact=rows[0].contact,
            type="text",
            status="received",
            timestamp=timezone.now(),
        )
        pricing = {"billable": True, "pricing_model": "PMP", "category": "utility"}
        statuses = []
        for n, row in enumerate(rows):
            # read before delivered before sent, in one change: the order must not matter.
            statuses += [
                receipt(row.wamid, "read", T0 + 3),
                receipt(row.wamid, "delivered", T0 + 2, pricing=pricing),
                receipt(row.wamid, "sent", T0 + 1),
            ]
            if n == 0:
                statuses.append(receipt(row.wamid, "sent", T0 + 1))  # a redelivery
        statuses += [receipt("wamid.unknown", "delivered", T0), receipt(incoming.wamid, "read", T0)]
        with CaptureQueriesContext(connection) as queries:
            notes = messages_changes_apply([change(1, statuses=statuses)])
        assert notes == {1: ""}
        # lock, savepoint, SELECT ... FOR UPDATE, UPDATE, parked INSERT, release.
        assert len(queries) <= 7, [q["sql"][:80] for q in queries]
        for row in rows:
            row.refresh_from_db()
            assert row.status == "read"
            assert row.sent_at == datetime.fromtimestamp(T0 + 1, tz=UTC)
            assert row.delivered_at == datetime.fromtimestamp(T0 + 2, tz=UTC)
            assert row.read_at == datetime.fromtimestamp(T0 + 3, tz=UTC)
            assert row.pricing == {"pricing": pricing}
        incoming.refresh_from_db()
        assert incoming.status == "received"
        assert list(PendingStatus.objects.values_list("wamid", "status")) == [
            ("wamid.unknown", "delivered")
        ]
        # A late `delivered` never undoes `read`.
        messages_changes_apply([change(2, statuses=[receipt(rows[0].wamid, "delivered", T0 + 9)])])
        rows[0].refresh_from_db()
        assert rows[0].status == "read"
        assert rows[0].delivered_at == datetime.fromtimestamp(T0 + 2, tz=UTC)
    with in_tenant(org_b):
        # The same wamid in another tenant is not A's row: parked here, A untouched.
        messages_changes_apply([change(3, statuses=[receipt("wamid.out.1", "played", T0 + 5)])])
        assert PendingStatus.objects.filter(wamid="wamid.out.1").exists()
    with in_tenant(org_a):
        assert WhatsAppMessage.objects.get(wamid="wamid.out.1").status == "read"


def test_failed_receipts_keep_their_error_through_the_batch(db, org_a):
    with in_tenant(org_a):
        row = outgoing("wamid.out.f")
        error = {"code": 131026, "title": "Message undeliverable", "message": "Undeliverable"}
        messages_changes_apply(
            [change(1, statuses=[receipt(row.wamid, "failed", T0, errors=[error])])]
        )
        row.refresh_from_db()
        assert (row.status, row.error_code, row.error_title) == (
            "failed",
            131026,
            "Message undeliverable",
        )


def test_a_failing_set_statement_falls_back_to_the_item_path(db, org_a, monkeypatch, caplog):
    """Fakes the boundary: the set-based message INSERT raises as a value the parser missed
    would; the batch is applied again item by item and every message is stored once."""
    from whatsapp.services import inbound_batch

    real = inbound_batch.insert_ignore

    def poisoned(model, objs, returning):
        if model is WhatsAppMessage:
            raise DataError("value too long for type character varying(32)")
        return real(model, objs, returning)

    monkeypatch.setattr(inbound_batch, "insert_ignore", poisoned)
    with in_tenant(org_a), caplog.at_level(logging.WARNING):
        notes = messages_changes_apply(batch("f")[:3])
        assert notes == {0: "", 1: "", 2: ""}
        assert WhatsAppMessage.objects.filter(wamid__startswith="wamid.f.").count() == 30
        assert Contact.objects.count() == 10
        assert not connection.needs_rollback
    assert "applying item by item" in caplog.text


def test_insert_ignore_returns_only_new_rows_and_never_truncates(db, org_a):
    from django.db import transaction

    from whatsapp.services.bulk import insert_ignore

    with in_tenant(org_a):
        first = insert_ignore(
            Contact, [Contact(wa_id="5511900000001"), Contact(wa_id="5511900000002")], ("wa_id",)
        )
        assert sorted(first) == [("5511900000001",), ("5511900000002",)]
        again = insert_ignore(
            Contact, [Contact(wa_id="5511900000002"), Contact(wa_id="5511900000003")], ("wa_id",)
        )
        assert again == [("5511900000003",)]
        # A value too long for its column fails the statement (the caller's fallback takes it
        # item by item); it is never cut to fit.
        with pytest.raises(DataError), transaction.atomic():
            insert_ignore(Contact, [Contact(wa_id="9" * 40)], ("wa_id",))
        assert Contact.objects.count() == 3
        created = Contact.objects.get(wa_id="5511900000003")
        assert created.created_at is not None and created.updated_at is not None


def test_instances_and_plain_rows_are_stored_alike(db, org_a):
    """`insert_ignore` (instances) and `insert_rows_ignore` (plain rows, a foreign key given as
    an instance under its name) build their rows the same way: the same message is stored with
    the same values and defaults (a UUID of its own per row); an `auto_now_add` time is the
    batch's for an instance, as `save()` would make it, and kept when a plain row gives it."""
    from whatsapp.services.bulk import insert_ignore, insert_rows_ignore

    sent = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    earlier = datetime(2025, 6, 1, tzinfo=UTC)
    common = {
        "direction": "outgoing",
        "status": "queued",
        "phone_number_id": "105500000000001",
        "recipient": "5511900000009",
        "type": "text",
        "content": {"body": "Hi"},
        "timestamp": sent,
        "created_at": earlier,
    }
    with in_tenant(org_a):
        contact = Contact.objects.create(wa_id="5511900000009")
        message = WhatsAppMessage(contact=contact, idempotency_key="from-instance", **common)
        ((from_instance,),) = insert_ignore(WhatsAppMessage, [message], ("id",))
        row = {"contact": contact, "idempotency_key": "from-row", **common}
        ((from_row,),) = insert_rows_ignore(WhatsAppMessage, [row], ("id",))
        first, second = (WhatsAppMessage.objects.get(pk=pk) for pk in (from_instance, from_row))

    own = {"id", "idempotency_key", "client_reference", "created_at", "updated_at"}

    def stored(m: WhatsAppMessage) -> dict:
        fields = WhatsAppMessage._meta.concrete_fields
        return {f.attname: getattr(m, f.attname) for f in fields if f.attname not in own}

    assert stored(first) == stored(second)
    assert (first.contact_id, first.timestamp, first.content) == (contact.pk, sent, {"body": "Hi"})
    assert (first.wamid, first.text, first.attempts, first.edit_history) == (None, "", 0, [])
    assert isinstance(first.client_reference, uuid.UUID)
    assert first.client_reference != second.client_reference
    assert first.created_at > earlier and second.created_at == earlier
    assert first.updated_at is not None and second.updated_at is not None
