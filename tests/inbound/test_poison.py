"""Poison isolation in the handler itself, with every hostile value including NUL, lone
surrogates and NaN (which the HTTP path cannot carry to the handler until the gateway stores
values cleaned): calls `messages_changes_apply` in org_a's schema (`db`, rolled back)."""

from __future__ import annotations

import random

from django.db import connection

from tests.conftest import in_tenant
from tests.inbound.hostile import good_message, hostile_change
from whatsapp.models import WhatsAppMessage
from whatsapp.services.inbound import messages_changes_apply
from whatsapp.webhooks.handlers import ChangeInput

PNID = "106540352242922"


def test_every_good_message_is_stored_once_among_hostile_siblings(db, org_a, org_b):
    rng = random.Random(4242)
    expected: set[str] = set()
    batches = []
    for batch in range(4):
        changes = []
        for n in range(5):
            good = [good_message(f"b{batch}", 10 * n + k) for k in range(2)]
            expected |= {g["id"] for g in good}
            value = hostile_change(rng, good=good, phone_number_id=PNID)
            changes.append(ChangeInput(100 * batch + n, "messages", PNID, "waba", value))
        batches.append(changes)
    with in_tenant(org_a):
        for changes in batches:
            notes = messages_changes_apply(changes)
            assert set(notes) == {c.change_id for c in changes}
            assert any("set aside" in text for text in notes.values())
        # Redelivering everything stores nothing twice.
        for changes in batches:
            messages_changes_apply(changes)
        good = WhatsAppMessage.objects.filter(wamid__startswith="wamid.GOOD.")
        assert sorted(good.values_list("wamid", flat=True)) == sorted(expected)
        assert not connection.needs_rollback
    with in_tenant(org_b):
        assert not WhatsAppMessage.objects.exists()


def test_nul_in_one_message_does_not_lose_its_sibling(db, org_a):
    value = {
        "metadata": {"phone_number_id": PNID},
        "contacts": [{"profile": {"name": "B\u0000"}, "wa_id": "5511999990001"}],
        "messages": [
            good_message("nul", 1),
            {
                "from": "5511999990001",
                "id": "wamid.NUL.\u0000",
                "timestamp": "1750857384",
                "type": "text",
                "text": {"body": "a\u0000b \ud800"},
            },
        ],
    }
    with in_tenant(org_a):
        notes = messages_changes_apply([ChangeInput(1, "messages", PNID, "w", value)])
        assert notes == {1: ""}
        stored = dict(WhatsAppMessage.objects.values_list("wamid", "text"))
        assert stored == {"wamid.GOOD.nul.1": "good nul 1", "wamid.NUL.\ufffd": "a\ufffdb \ufffd"}
