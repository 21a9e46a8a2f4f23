"""Metering through the real webhook path: signed POSTs to the platform server, the session's
webhook worker, committed rows. Redeliveries (same body), re-batched deliveries (the same
messages in another body) and replays of processed changes must leave the count equal to the
messages stored; Meta's charge is counted once per message whatever receipts repeat it.
Receipts: https://developers.facebook.com/documentation/business-messaging/whatsapp/webhooks/reference/messages/status/
"""

from __future__ import annotations

import copy
import datetime as dt
import threading
from decimal import Decimal

import pytest
from django.db.models import Max, Sum

from billing_stub.models import UsageCounter
from tenants.models import WebhookChange
from tests.conftest import in_tenant, run_concurrently, wait_for
from tests.factories import ContactFactory, OutgoingMessageFactory
from tests.inbound.conftest import first_value, load
from whatsapp.models import WhatsAppMessage
from whatsapp.webhooks.replay import webhook_replay

from .conftest import counted

pytestmark = pytest.mark.integration


def text_message(n: int) -> dict:
    payload = load("message_text")
    message = first_value(payload)["messages"][0]
    message["id"] = f"wamid.BILLING-IN-{n:04d}"
    message["text"]["body"] = f"message {n}"
    return payload


def batch_of(numbers: list[int]) -> dict:
    """One delivery carrying several messages (Meta batching them differently)."""
    payload = text_message(numbers[0])
    value = first_value(payload)
    value["messages"] = [first_value(text_message(n))["messages"][0] for n in numbers]
    return payload


def stored_incoming(org) -> int:
    with in_tenant(org):
        return WhatsAppMessage.objects.filter(direction="incoming").count()


def settled() -> bool:
    """every change is processed"""
    states = set(WebhookChange.objects.values_list("state", flat=True))
    return bool(states) and states <= {WebhookChange.State.PROCESSED}


def test_inbound_metering_equals_stored_messages_after_redeliveries_and_replays(
    webhook, numbers, webhook_worker, live_billing, org_a, org_b
) -> None:
    # A small load run: 4 senders post 120 messages at once, in single and batched bodies,
    # each body twice (Meta redelivers), and some messages again inside other batches.
    bodies = [text_message(n) for n in range(80)]
    bodies += [batch_of(list(range(n, n + 4))) for n in range(80, 120, 4)]
    bodies += [batch_of([n, n + 40, 100 + n % 20]) for n in range(0, 40, 4)]
    work = iter([*bodies, *bodies])
    lock = threading.Lock()

    def post_all() -> int:
        posted = 0
        while True:
            with lock:
                body = next(work, None)
            if body is None:
                return posted
            assert webhook.post(body).status_code == 200
            posted += 1

    assert sum(run_concurrently(post_all, threads=4)) == 2 * len(bodies)
    wait_for(lambda: stored_incoming(org_a) == 120 and settled(), timeout=60)
    # An operator replays every change (e.g. after an incident): applied again, counted never.
    # (The worker may claim the pending changes before the replay call does: either way each
    # change is applied again, which `processed_at` moving on shows.)
    before = WebhookChange.objects.aggregate(last=Max("processed_at"))["last"]
    WebhookChange.objects.update(state=WebhookChange.State.PENDING)
    webhook_replay(states=[WebhookChange.State.PENDING])

    def reapplied():
        """every change applied again"""
        return settled() and not WebhookChange.objects.filter(processed_at__lte=before).exists()

    wait_for(reapplied, timeout=60)
    assert stored_incoming(org_a) == 120
    assert counted(org_a, "inbound_messages") == 120
    assert counted(org_b, "inbound_messages") == 0


def status_payload(statuses: list[dict]) -> dict:
    payload = load("status_delivered")
    first_value(payload)["statuses"] = statuses
    return payload


def receipt(wamid: str, status: str, ts: dt.datetime, category: str, kind: str) -> dict:
    return {
        "id": wamid,
        "status": status,
        "timestamp": str(int(ts.timestamp())),
        "recipient_id": "447700900123",
        "pricing": {"billable": True, "pricing_model": "PMP", "category": category, "type": kind},
    }


def test_meta_charges_are_metered_once_per_message_by_category_and_market(
    webhook, numbers, webhook_worker, live_billing, org_a
) -> None:
    before_change = dt.datetime(2026, 9, 30, 12, 0, tzinfo=dt.UTC)
    after_change = dt.datetime(2026, 10, 2, 12, 0, tzinfo=dt.UTC)
    with in_tenant(org_a):
        contact = ContactFactory(wa_id="447700900123")
        for wamid in ("wamid.M1", "wamid.M2", "wamid.S1", "wamid.S2"):
            OutgoingMessageFactory(
                wamid=wamid,
                contact=contact,
                recipient="447700900123",
                phone_number_id=numbers["alpha"],
                status="accepted",
            )
    sent = [
        receipt("wamid.M1", "sent", before_change, "marketing", "regular"),
        receipt("wamid.M2", "sent", after_change, "marketing", "regular"),
        receipt("wamid.S1", "sent", before_change, "service", "free_customer_service"),
        receipt("wamid.S2", "sent", after_change, "service", "free_customer_service"),
    ]
    later = [
        {**copy.deepcopy(r), "status": status, "timestamp": str(int(r["timestamp"]) + 60 * i)}
        for i, status in enumerate(("delivered", "read"), start=1)
        for r in sent
    ]
    assert webhook.post(status_payload(sent)).status_code == 200
    assert webhook.post(status_payload(later)).status_code == 200
    assert webhook.post(status_payload(sent)).status_code == 200  # a redelivery
    assert webhook.post(status_payload(list(reversed(later)))).status_code == 200

    def all_read():
        """every message read"""
        with in_tenant(org_a):
            return WhatsAppMessage.objects.filter(status="read").count() == 4 and settled()

    wait_for(all_read)
    rows = {
        row["dimension"]: (row["quantity"], row["cost"])
        for row in UsageCounter.objects.filter(
            organization=org_a.organization, metric="meta_messages"
        )
        .values("dimension")
        .annotate(quantity=Sum("quantity"), cost=Sum("cost"))
    }
    assert rows == {
        "marketing/regular/GB": (2, Decimal("0.1058")),
        # free before 1 Oct 2026; from then on charged at GB's utility rate
        "service/free_customer_service/GB": (2, Decimal("0.0220")),
    }
