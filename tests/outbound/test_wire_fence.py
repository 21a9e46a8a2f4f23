"""The wire fence (whatsapp.services.outbound.fence) and `messages_reclaim_unposted`: a claimed
row goes back to the queue only when no request was written for it, the pool writes nothing
for a revoked claim, a fence Redis cannot mark leaves the row to be sent later (once), and one
organization's recovery never touches another's rows. Real Redis (this run's prefix), real
PostgreSQL schemas, real HTTP to the sandbox; no Celery worker: the tests call the services,
and the tasks they enqueue on commit are left in the broker."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
import redis
from django.utils import timezone
from django_tenants.utils import tenant_context

from tests.conftest import in_tenant
from whatsapp.graph.client import GraphClient
from whatsapp.models import WhatsAppMessage
from whatsapp.services.outbound import messages_reclaim_unposted, messages_send
from whatsapp.services.outbound.fence import (
    fence_claim_many,
    fence_enter,
    fence_forget,
    fence_key,
    fence_revoke,
)
from whatsapp.services.outbound.pool import NotPosted, post_at_slot
from whatsapp.services.ratelimit import SendRateLimiter

from .conftest import accepted_sends, customer

pytestmark = [pytest.mark.integration]

WA_ID = "447911654321"


def test_whichever_of_post_and_revoke_comes_first_wins_for_good(live_db) -> None:
    posted = fence_key(client_reference=uuid.uuid4(), attempt=1)
    assert fence_enter(posted) is True
    assert fence_revoke([posted]) == [False]  # a request may have left: never take it back
    assert fence_enter(posted) is False  # the claim's one request was already marked

    revoked = fence_key(client_reference=uuid.uuid4(), attempt=1)
    assert fence_revoke([revoked]) == [False]  # never marked (or lost by Redis): unknown, kept
    fence_claim_many([revoked])
    assert fence_revoke([revoked, posted]) == [True, False]
    assert fence_revoke([revoked]) == [True]  # a second recovery agrees
    assert fence_enter(revoked) is False  # a late sender writes nothing
    fence_forget([posted, revoked])
    assert fence_enter(posted) is True  # forgotten keys are gone
    fence_forget([posted])


def test_a_claim_whose_key_redis_lost_is_never_taken_back(live_db) -> None:
    """Redis restarted without persistence between the claim and recovery: the key is gone, a
    request may have been written, so recovery must leave the claim (at most once)."""
    key = fence_key(client_reference=uuid.uuid4(), attempt=1)
    fence_claim_many([key])
    assert fence_enter(key) is True  # the request went out...
    fence_forget([key])  # ...and Redis lost the key (as a restart would)
    assert fence_revoke([key]) == [False]
    assert fence_enter(fence_key(client_reference=uuid.uuid4(), attempt=1)) is True


def _queued(sender, contact, count: int = 1) -> list[WhatsAppMessage]:
    """Queued texts, made with bulk_create: no post_save, so no task a running worker could
    take (the session's Celery worker may be up)."""
    with in_tenant(sender.org):
        return WhatsAppMessage.objects.bulk_create(
            [
                WhatsAppMessage(
                    direction="outgoing", status="queued", contact=contact, recipient=WA_ID,
                    type="text", content={"body": f"hi {i}"}, timestamp=timezone.now(),
                    phone_number_id=sender.phone_number_id,
                )
                for i in range(count)
            ]
        )  # fmt: skip


def _claimed(sender, *, seconds_ago: float, count: int = 1) -> list[WhatsAppMessage]:
    """Rows a sender claimed `seconds_ago` (status `sending`, attempt 1, fence `claimed`, as
    the engine marks a chunk right after its claim), no request made."""
    rows = _queued(sender, customer(sender, WA_ID), count)
    with in_tenant(sender.org):
        WhatsAppMessage.objects.filter(pk__in=[r.pk for r in rows]).update(
            status="sending",
            attempts=1,
            last_attempt_at=timezone.now() - timedelta(seconds=seconds_ago),
        )
        claimed = list(WhatsAppMessage.objects.filter(pk__in=[r.pk for r in rows]).order_by("pk"))
    fence_claim_many([fence_key(client_reference=r.client_reference, attempt=1) for r in claimed])
    return claimed


def test_reclaim_takes_back_only_claims_whose_request_was_never_written(sender_a, sender_b) -> None:
    lost, on_the_wire, fresh = _claimed(sender_a, seconds_ago=60, count=3)
    with in_tenant(sender_a.org):
        WhatsAppMessage.objects.filter(pk=fresh.pk).update(last_attempt_at=timezone.now())
    assert fence_enter(fence_key(client_reference=on_the_wire.client_reference, attempt=1))

    # Another organization's recovery sees none of these rows (and has none of its own).
    with in_tenant(sender_b.org):
        assert messages_reclaim_unposted(older_than=timedelta(seconds=20)) == []
    with in_tenant(sender_a.org):
        assert WhatsAppMessage.objects.filter(status="sending").count() == 3
        assert messages_reclaim_unposted(older_than=timedelta(seconds=20)) == [lost.pk]
        claims = {m.pk: (m.status, m.attempts) for m in WhatsAppMessage.objects.all()}
    # The lost claim is back in the queue (or already taken by a running worker: attempt 2);
    # the other two are untouched.
    assert claims[lost.pk] != ("sending", 1)
    assert claims[on_the_wire.pk] == claims[fresh.pk] == ("sending", 1)
    # The lost claim is revoked for good: its sender, were it alive after all, writes nothing.
    assert not fence_enter(fence_key(client_reference=lost.client_reference, attempt=1))
    with in_tenant(sender_a.org):
        assert messages_reclaim_unposted(older_than=timedelta(seconds=20)) == []


def test_reclaim_can_be_narrowed_to_one_features_rows(sender_a) -> None:
    (row,) = _claimed(sender_a, seconds_ago=60)
    with in_tenant(sender_a.org):
        WhatsAppMessage.objects.filter(pk=row.pk).update(idempotency_key="campaign:7:1:0")
        assert (
            messages_reclaim_unposted(
                older_than=timedelta(seconds=20), idempotency_prefix="campaign:8:"
            )
            == []
        )
        assert messages_reclaim_unposted(
            older_than=timedelta(seconds=20), idempotency_prefix="campaign:7:"
        ) == [row.pk]


def test_the_pool_writes_no_request_for_a_revoked_claim(sender_a, sandbox) -> None:
    limiter = SendRateLimiter(phone_number_id=sender_a.phone_number_id, messages_per_second=80)
    client = GraphClient(base_url=sandbox.base_url, api_version="v25.0",
                         token_provider=lambda: sender_a.token)  # fmt: skip
    key = fence_key(client_reference=uuid.uuid4(), attempt=1)
    fence_claim_many([key])
    assert fence_revoke([key]) == [True]
    (slot,) = limiter.reserve_many(count=1, max_wait=1.0)
    payload = {"messaging_product": "whatsapp", "to": WA_ID, "type": "text",
               "text": {"body": "never"}}  # fmt: skip
    result = post_at_slot(client=client, limiter=limiter, slot=slot,
                          phone_number_id=sender_a.phone_number_id, payload=payload,
                          fence=key).result(timeout=10)  # fmt: skip
    assert result == NotPosted("revoked")
    assert sandbox.requests(path_contains="/messages") == []


def test_a_fence_redis_cannot_mark_sends_nothing_and_the_message_goes_later_once(
    sender_a, sandbox, monkeypatch
) -> None:
    from whatsapp.services.outbound import pool

    (message,) = _queued(sender_a, customer(sender_a, WA_ID, sandbox=sandbox))

    def unavailable(key: str) -> bool:
        raise redis.ConnectionError("Redis is restarting")

    monkeypatch.setattr(pool, "fence_enter", unavailable)
    with tenant_context(sender_a.org.organization):
        outcome = messages_send(message_ids=[message.pk])[message.pk]
        message.refresh_from_db()
    assert (outcome.result, message.status) == ("retry", "queued")
    assert accepted_sends(sandbox, sender_a.phone_number_id) == []

    monkeypatch.undo()
    with tenant_context(sender_a.org.organization):
        assert messages_send(message_ids=[message.pk])[message.pk].result == "accepted"
        message.refresh_from_db()
    assert (message.status, message.attempts) == ("accepted", 2)
    (sent,) = accepted_sends(sandbox, sender_a.phone_number_id)
    assert sent["body"]["biz_opaque_callback_data"] == str(message.client_reference)
