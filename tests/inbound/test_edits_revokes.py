"""Edits and revokes applied to the original message, in any arrival order. Calls the service
in org_a's schema (`db` fixture, rolled back); the API side is in
tests/api/test_api_messages_detail.py."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from tests.conftest import in_tenant
from whatsapp.models import WhatsAppMessage
from whatsapp.services.inbound import inbound_change_apply

PNID = "106540352242922"
ORIGINAL = "wamid.ORIGINAL.1"


def msg(wamid: str, ts: int, kind: str, payload: Any, **extra: Any) -> dict[str, Any]:
    return {
        "from": "5511999990000",
        "id": wamid,
        "timestamp": str(ts),
        "type": kind,
        kind: payload,
        **extra,
    }


def original() -> dict[str, Any]:
    return msg(ORIGINAL, 1750857000, "text", {"body": "pedido 123"})


def edit(n: int, body: str) -> dict[str, Any]:
    return msg(
        f"wamid.EDIT.{n}",
        1750857000 + 10 * n,
        "edit",
        {"original_message_id": ORIGINAL, "message": {"type": "text", "text": {"body": body}}},
    )


def revoke(ts: int = 1750857100) -> dict[str, Any]:
    return msg("wamid.REVOKE.1", ts, "revoke", {"original_message_id": ORIGINAL})


def deliver(*messages: dict[str, Any]) -> None:
    for message in messages:
        value = {
            "messaging_product": "whatsapp",
            "metadata": {"phone_number_id": PNID},
            "contacts": [{"profile": {"name": "Ana"}, "wa_id": "5511999990000"}],
            "messages": [message],
        }
        inbound_change_apply(value=value, phone_number_id=PNID)


def the_original() -> WhatsAppMessage:
    return WhatsAppMessage.objects.get(wamid=ORIGINAL)


@pytest.mark.parametrize("order", list(itertools.permutations(range(3))))
def test_two_edits_in_any_order_give_the_same_text_and_history(db, org_a, order):
    items = [original(), edit(1, "pedido 124"), edit(2, "pedido 125")]
    with in_tenant(org_a):
        deliver(*[items[i] for i in order])
        row = the_original()
        assert row.text == "pedido 125"
        assert row.content == {"body": "pedido 125"}
        assert row.edited_at.timestamp() == 1750857020
        assert [v["text"] for v in row.edit_history] == ["pedido 123", "pedido 124"]
        assert [v["wamid"] for v in row.edit_history] == [ORIGINAL, "wamid.EDIT.1"]
        assert row.edit_history[0]["content"] == {"body": "pedido 123"}
        assert row.revoked_at is None and not row.revoked
        # The edits stay as their own rows, pointing at the original.
        assert set(
            WhatsAppMessage.objects.filter(type="edit").values_list("context_wamid", flat=True)
        ) == {ORIGINAL}


@pytest.mark.parametrize("revoke_first", [True, False])
def test_revoke_marks_the_original_in_either_order(db, org_a, revoke_first):
    with in_tenant(org_a):
        deliver(*([revoke(), original()] if revoke_first else [original(), revoke()]))
        row = the_original()
        assert row.revoked and row.revoked_at.timestamp() == 1750857100


def test_redelivered_edit_changes_nothing(db, org_a):
    with in_tenant(org_a):
        deliver(original(), edit(1, "pedido 124"))
        before = the_original()
        deliver(edit(1, "pedido 124"), original())
        after = the_original()
        assert (after.text, after.edit_history, after.edited_at) == (
            before.text,
            before.edit_history,
            before.edited_at,
        )
        assert WhatsAppMessage.objects.count() == 2


def test_edit_of_another_tenants_message_does_not_touch_it(db, org_a, org_b):
    with in_tenant(org_b):
        deliver(original())
    with in_tenant(org_a):
        deliver(edit(1, "hijack"), revoke())
    with in_tenant(org_b):
        row = the_original()
        assert row.text == "pedido 123" and row.edited_at is None and row.revoked_at is None


def deliver_together(*messages: dict[str, Any]) -> None:
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"phone_number_id": PNID},
        "contacts": [{"profile": {"name": "Ana"}, "wa_id": "5511999990000"}],
        "messages": list(messages),
    }
    inbound_change_apply(value=value, phone_number_id=PNID)


def test_edit_before_its_original_in_the_same_change(db, org_a):
    with in_tenant(org_a):
        deliver_together(edit(1, "pedido 124"), revoke(), original())
        row = the_original()
        assert row.text == "pedido 124" and row.revoked


def _deliver_in_own_transaction(schema: str, message: dict[str, Any]) -> None:
    from django.db import transaction
    from django_tenants.utils import schema_context

    with schema_context(schema), transaction.atomic():
        deliver(message)


def test_edit_and_original_processed_concurrently(live_db, org_a):
    from tests.conftest import run_concurrently

    for n in range(10):
        pending = [original(), edit(1, "pedido 124")]
        if n % 2:
            pending.reverse()
        run_concurrently(lambda p=pending: _deliver_in_own_transaction(org_a.schema, p.pop()))
        with in_tenant(org_a):
            row = the_original()
            assert row.text == "pedido 124" and row.edited_at is not None, n
            WhatsAppMessage.objects.all().delete()


@pytest.mark.parametrize("actions_first", [False, True])
def test_another_customer_cannot_edit_or_revoke_a_message(db, org_a, actions_first):
    """An edit/revoke naming someone else's wamid is kept as its own row and changes nothing."""
    intruder = "5511888880000"
    hijack = [
        {**edit(1, "HIJACKED"), "from": intruder},
        {**revoke(), "from": intruder},
    ]

    def from_intruder() -> None:
        for message in hijack:
            value = {
                "messaging_product": "whatsapp",
                "metadata": {"phone_number_id": PNID},
                "contacts": [{"profile": {"name": "Eve"}, "wa_id": intruder}],
                "messages": [message],
            }
            inbound_change_apply(value=value, phone_number_id=PNID)

    with in_tenant(org_a):
        if actions_first:
            from_intruder()
            deliver(original())
        else:
            deliver(original())
            from_intruder()
        row = the_original()
        assert row.text == "pedido 123"
        assert row.edited_at is None and row.edit_history == []
        assert row.revoked_at is None
        assert WhatsAppMessage.objects.filter(type__in=["edit", "revoke"]).count() == 2
