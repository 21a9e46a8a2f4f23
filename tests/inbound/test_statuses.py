"""Status receipts applied to outgoing messages: monotonic, order-independent, idempotent.

Service-level tests in org_a's schema with the `db` fixture (rolled back; the reconcile task a
parked receipt schedules on commit is not run here; test_pipeline_http.py runs it for real).
"""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, datetime

import pytest

from tests.conftest import in_tenant
from tests.factories import OutgoingMessageFactory
from tests.inbound.conftest import STATUS_FIXTURES, first_value, load
from whatsapp.models import Contact, PendingStatus, WhatsAppMessage
from whatsapp.services.inbound import inbound_change_apply
from whatsapp.services.statuses import (
    pending_statuses_apply,
    pending_statuses_reconcile,
    status_apply,
)

WAMID = "wamid.OUTGOING-STATUS-1"
REFERENCE = "4f1b7c34-63a9-4f0e-9ad0-6b3a2f1c0e11"


def receipt(name: str, **changes) -> dict:
    status = first_value(load(f"status_{name}"))["statuses"][0]
    status.update(changes)
    return status


def outgoing(*, wamid: str | None = WAMID, reference: str = REFERENCE, status: str = "sent"):
    contact, _ = Contact.objects.get_or_create(wa_id="5511999990000")
    return OutgoingMessageFactory(
        wamid=wamid,
        client_reference=uuid.UUID(reference),
        phone_number_id="106540352242922",
        contact=contact,
        status=status,
        text="hi",
    )


def ts(seconds: str) -> datetime:
    return datetime.fromtimestamp(int(seconds), tz=UTC)


def snapshot(message: WhatsAppMessage) -> tuple:
    message.refresh_from_db()
    return (
        message.status,
        message.sent_at,
        message.delivered_at,
        message.read_at,
        message.failed_at,
        message.error_code,
        message.error_title,
        message.error_message,
    )


def test_every_status_fixture_is_applied(org_a, db):
    with in_tenant(org_a):
        message = outgoing(status="queued")
        for name in STATUS_FIXTURES:
            value = first_value(load(name))
            result = inbound_change_apply(value=value, phone_number_id="106540352242922")
            assert sum(result.statuses.values()) == 1
        message.refresh_from_db()
        assert message.sent_at == ts("1750857390")
        assert message.delivered_at == ts("1750857395")
        assert message.read_at == ts("1750857400")
        assert message.failed_at == ts("1750857399")
        assert message.status == "failed"  # highest rank of STATUS_RANK
        assert message.error_code == 131026
        assert message.error_title == "Message undeliverable"
        assert message.error_message == "Message could not be delivered"


@pytest.mark.parametrize("order", list(itertools.permutations(["sent", "delivered", "read"])))
def test_out_of_order_receipts_converge_and_never_move_backwards(order, org_a, db):
    with in_tenant(org_a):
        message = outgoing(status="sending")
        for name in order:
            status_apply(status=receipt(name))
        assert snapshot(message) == (
            "read",
            ts("1750857390"),
            ts("1750857395"),
            ts("1750857400"),
            None,
            None,
            "",
            "",
        )


def test_a_late_delivered_does_not_undo_read_and_duplicates_change_nothing(org_a, db):
    with in_tenant(org_a):
        message = outgoing()
        assert status_apply(status=receipt("read")) == "applied"
        before = snapshot(message)
        assert status_apply(status=receipt("delivered")) == "applied"  # fills its timestamp
        assert status_apply(status=receipt("delivered")) == "unchanged"
        assert status_apply(status=receipt("read")) == "unchanged"
        after = snapshot(message)
        assert after[0] == "read"
        assert after[3] == before[3]


def test_played_outranks_read(org_a, db):
    with in_tenant(org_a):
        message = outgoing()
        status_apply(status=receipt("played"))
        status_apply(status=receipt("read"))
        assert snapshot(message)[0] == "played"


def test_unknown_or_incomplete_receipts_are_ignored(org_a, db):
    with in_tenant(org_a):
        message = outgoing()
        assert status_apply(status=receipt("read", status="deleted")) == "ignored"
        assert status_apply(status=receipt("read", id="")) == "ignored"
        assert status_apply(status={"status": 5}) == "ignored"
        assert snapshot(message)[0] == "sent"


def test_receipt_finds_a_row_without_wamid_by_callback_reference(org_a, db):
    """The send timed out before Meta's answer: the row has no wamid but its client_reference
    came back as biz_opaque_callback_data."""
    with in_tenant(org_a):
        message = outgoing(wamid=None, status="sending")
        assert status_apply(status=receipt("delivered")) == "applied"
        message.refresh_from_db()
        assert message.wamid == WAMID
        assert message.status == "delivered"


def test_receipt_before_the_row_is_parked_then_applied(org_a, db):
    with in_tenant(org_a):
        other = {"biz_opaque_callback_data": ""}
        assert status_apply(status=receipt("read", **other)) == "parked"
        assert status_apply(status=receipt("delivered", **other)) == "parked"
        assert status_apply(status=receipt("delivered", **other)) == "parked"  # redelivery
        assert PendingStatus.objects.count() == 2
        assert pending_statuses_reconcile(wamid=WAMID) is False
        assert PendingStatus.objects.get(status="read").attempts == 1
        message = outgoing(status="sending")
        assert pending_statuses_reconcile(wamid=WAMID) is True
        assert not PendingStatus.objects.exists()
        assert snapshot(message)[:4] == ("read", None, ts("1750857395"), ts("1750857400"))


def test_parked_receipts_apply_when_the_row_is_linked_by_reference(org_a, db):
    with in_tenant(org_a):
        status_apply(status=receipt("sent", biz_opaque_callback_data=""))
        # The row appears without a wamid; a later receipt carries the reference and links it.
        message = outgoing(wamid=None, status="sending")
        assert status_apply(status=receipt("delivered")) == "applied"
        assert not PendingStatus.objects.exists()
        assert snapshot(message)[:3] == ("delivered", ts("1750857390"), ts("1750857395"))


def test_outbound_can_apply_parked_receipts_after_storing_the_wamid(org_a, db):
    with in_tenant(org_a):
        status_apply(status=receipt("delivered"))  # reference unknown yet: parked
        message = outgoing(reference=str(uuid.uuid4()), status="sending")
        assert pending_statuses_apply(message_id=message.pk) == 1
        assert snapshot(message)[0] == "delivered"


def test_receipts_never_touch_incoming_messages(org_a, db):
    with in_tenant(org_a):
        inbound_change_apply(value=first_value(load("message_text")), phone_number_id="1")
        incoming = WhatsAppMessage.objects.get()
        status_apply(status=receipt("read", id=incoming.wamid))
        assert snapshot(incoming)[0] == "received"


def test_receipts_of_tenant_a_do_not_reach_tenant_b(org_a, org_b, db):
    with in_tenant(org_b):
        message_b = outgoing()
    with in_tenant(org_a):
        assert status_apply(status=receipt("read")) == "parked"
    with in_tenant(org_b):
        assert snapshot(message_b)[0] == "sent"
        assert not PendingStatus.objects.exists()


@pytest.mark.django_db
def test_receipts_keep_metas_pricing_for_billing(org_a) -> None:
    with in_tenant(org_a):
        message = outgoing(status="sending")
        status_apply(status=receipt("sent"))
        later = receipt(
            "delivered",
            pricing={"pricing_model": "PMP", "category": "utility", "type": "regular"},
        )
        status_apply(status=later)
        message.refresh_from_db()
    assert message.pricing["pricing"] == {
        "pricing_model": "PMP",
        "category": "utility",
        "type": "regular",
    }
    assert message.pricing["conversation"]["origin"] == {"type": "service"}
    assert message.status == "delivered"
