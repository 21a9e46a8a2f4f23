"""The whole inbound pipeline over real HTTP: signed POSTs to the platform server, routing and
processing by the session's webhook worker loop (the one `manage.py webhook_worker` runs),
committed rows in the tenants' schemas."""

from __future__ import annotations

import logging

import pytest
from django.core.management import call_command

from tenants.models import Organization, RawWebhookEvent, WebhookChange
from tests.conftest import in_tenant, wait_for
from tests.factories import ContactFactory, OutgoingMessageFactory, RawWebhookEventFactory
from tests.inbound.conftest import (
    FIXTURE_NUMBER_ID,
    FIXTURE_WABA_ID,
    MESSAGE_FIXTURES,
    OTHER_NUMBER_ID,
    TOKENS,
    connect_number,
    encode,
    first_value,
    load,
    retarget,
)
from whatsapp.models import Contact, PendingStatus, WhatsAppMessage

pytestmark = pytest.mark.integration


def messages_in(org, **filters) -> list[WhatsAppMessage]:
    with in_tenant(org):
        return list(WhatsAppMessage.objects.filter(**filters).select_related("contact"))


def changes(**filters) -> list[WebhookChange]:
    return list(WebhookChange.objects.filter(**filters).order_by("pk"))


def test_every_inbound_type_lands_in_the_owning_tenant(
    webhook, numbers, webhook_worker, org_a, org_b
):
    expected = {}
    for name in MESSAGE_FIXTURES:
        payload = load(name)
        message = first_value(payload)["messages"][0]
        expected[message["id"]] = message.get("type")
        assert webhook.post(payload).status_code == 200

    def all_stored():
        """every fixture message is stored in alpha"""
        return len(messages_in(org_a)) == len(expected)

    wait_for(all_stored)
    stored = {m.wamid: m for m in messages_in(org_a)}
    assert {wamid: m.type for wamid, m in stored.items()} == expected
    assert all(m.direction == "incoming" and m.status == "received" for m in stored.values())
    assert messages_in(org_b) == []
    assert {c.state for c in changes()} == {WebhookChange.State.PROCESSED}
    assert {c.organization_id for c in changes()} == {org_a.organization.pk}
    assert set(RawWebhookEvent.objects.values_list("state", flat=True)) == {"routed"}


def test_one_delivery_for_two_tenants_is_split(webhook, numbers, webhook_worker, org_a, org_b):
    with in_tenant(org_b):
        OutgoingMessageFactory(
            wamid="wamid.BATCH-B-OUT-1",
            phone_number_id=OTHER_NUMBER_ID,
            contact=ContactFactory(wa_id="5521988880000"),
            status="sent",
        )
    assert webhook.post(load("multi_number_batch")).status_code == 200

    def split():
        """A's message in A, B's message and B's receipt in B"""
        b_out = messages_in(org_b, wamid="wamid.BATCH-B-OUT-1")
        return (
            messages_in(org_a, wamid="wamid.BATCH-A-1")
            and messages_in(org_b, wamid="wamid.BATCH-B-1")
            and b_out
            and b_out[0].status == "delivered"
        )

    wait_for(split)
    assert [m.wamid for m in messages_in(org_a)] == ["wamid.BATCH-A-1"]
    assert {m.wamid for m in messages_in(org_b)} == {"wamid.BATCH-B-1", "wamid.BATCH-B-OUT-1"}
    routed = {(c.entry_index, c.change_index): c.organization_id for c in changes()}
    assert routed == {
        (0, 0): org_a.organization.pk,
        (1, 0): org_b.organization.pk,
        (1, 1): org_b.organization.pk,
    }
    with in_tenant(org_a):
        assert not Contact.objects.filter(wa_id="5521988880000").exists()


def test_redeliveries_and_repeated_wamids_are_stored_once(webhook, numbers, webhook_worker, org_a):
    payload = load("message_text")
    for _ in range(3):
        assert webhook.post(payload).status_code == 200
    # Same message in a different body (Meta re-batched it): a second event, still one message.
    payload["entry"][0]["time"] = 1750857999
    assert webhook.post(payload).status_code == 200
    wait_for(lambda: len(changes(state="processed")) == 2)
    assert sorted(RawWebhookEvent.objects.values_list("deliveries", flat=True)) == [1, 3]
    assert len(messages_in(org_a)) == 1


def test_routing_falls_back_to_the_waba_when_metadata_is_missing(
    webhook, numbers, webhook_worker, org_a
):
    payload = load("message_text")
    del first_value(payload)["metadata"]
    assert webhook.post(payload).status_code == 200
    wait_for(lambda: messages_in(org_a))
    assert changes()[0].organization_id == org_a.organization.pk


def test_fields_without_a_handler_are_kept_as_no_handler_and_replayed_once_registered(
    webhook, numbers, webhook_worker, settings
):
    # The templates feature handles this field; without its handler it is an unknown field.
    settings.WHATSAPP_WEBHOOK_HANDLERS = {
        field: path
        for field, path in settings.WHATSAPP_WEBHOOK_HANDLERS.items()
        if field != "message_template_status_update"
    }
    assert webhook.post(load("template_status_update")).status_code == 200
    change = wait_for(lambda: changes(state="no_handler"))[0]
    assert change.field == "message_template_status_update"
    assert change.value["event"] == "APPROVED"
    assert change.organization_id is not None  # routed by the WABA, just not handled
    settings.WHATSAPP_WEBHOOK_HANDLERS = {
        **settings.WHATSAPP_WEBHOOK_HANDLERS,
        "message_template_status_update": "tests.inbound.handlers.recording_handler",
    }
    call_command("replay_webhooks", "--state", "no_handler")
    wait_for(lambda: changes(state="processed"))
    assert changes()[0].error == "recorded"


def test_unroutable_change_is_kept_and_replayed_once_the_number_is_connected(
    webhook, live_db, webhook_worker, org_a
):
    payload = retarget(load("message_text"), phone_number_id="999000111", waba_id="999")
    assert webhook.post(payload).status_code == 200
    change = wait_for(lambda: changes(state="unroutable"))[0]
    assert change.organization is None
    call_command("replay_webhooks", "--state", "unroutable")
    assert changes(state="unroutable")  # still nobody's
    connect_number(org_a, phone_number_id="999000111", waba_id="999")
    call_command("replay_webhooks", "--state", "unroutable", "--event", str(change.event_id))
    wait_for(lambda: messages_in(org_a))
    assert changes()[0].state == "processed"


def test_suspended_organization_events_are_held_then_replayed(
    webhook, numbers, webhook_worker, org_b
):
    payload = retarget(load("message_text"), phone_number_id=OTHER_NUMBER_ID, waba_id="x")
    Organization.objects.filter(pk=org_b.organization.pk).update(status="suspended")
    try:
        assert webhook.post(payload).status_code == 200
        change = wait_for(lambda: changes(state="held"))[0]
        assert "suspended" in change.error
        assert messages_in(org_b) == []
    finally:
        Organization.objects.filter(pk=org_b.organization.pk).update(status="active")
    call_command("replay_webhooks", "--state", "held")
    wait_for(lambda: messages_in(org_b))


def test_failed_processing_is_retried_with_backoff_then_replayable(
    webhook, numbers, webhook_worker, org_a, settings
):
    settings.WHATSAPP_WEBHOOK_MAX_ATTEMPTS = 3
    settings.WHATSAPP_WEBHOOK_RETRY_BASE_DELAY = 0.01
    settings.WHATSAPP_WEBHOOK_RETRY_MAX_DELAY = 0.05
    registry = settings.WHATSAPP_WEBHOOK_HANDLERS
    settings.WHATSAPP_WEBHOOK_HANDLERS = {**registry, "messages": "tests.inbound.handlers.broken"}
    assert webhook.post(load("message_text")).status_code == 200

    def failed_for_good():
        """the change failed 3 times"""
        found = changes(state="failed")
        return found and found[0].attempts == 3 and found[0].next_attempt_at is None and found[0]

    change = wait_for(failed_for_good)
    assert "RuntimeError: database hiccup" in change.error
    assert messages_in(org_a) == []
    settings.WHATSAPP_WEBHOOK_HANDLERS = registry
    call_command("replay_webhooks", "--state", "failed")
    wait_for(lambda: messages_in(org_a))
    assert changes()[0].state == "processed"


def test_status_before_the_message_row_converges(
    webhook, numbers, webhook_worker, celery_worker, org_a
):
    """Meta's `delivered` and `read` arrive before the outbound pipeline committed the row."""
    value = first_value(load("status_delivered"))
    value["statuses"][0]["biz_opaque_callback_data"] = ""
    assert webhook.post(load("status_read") | {}).status_code == 200
    payload = load("status_delivered")
    payload["entry"][0]["changes"][0]["value"] = value
    assert webhook.post(payload).status_code == 200

    def parked():
        """both receipts parked in alpha"""
        with in_tenant(org_a):
            return PendingStatus.objects.count() == 2

    wait_for(parked)
    with in_tenant(org_a):
        message = OutgoingMessageFactory(
            wamid="wamid.OUTGOING-STATUS-1",
            phone_number_id=FIXTURE_NUMBER_ID,
            contact=ContactFactory(wa_id="5511999990000"),
            status="sent",
        )

    def applied():
        """the parked receipts reached the row"""
        with in_tenant(org_a):
            message.refresh_from_db()
            return message.status == "read" and not PendingStatus.objects.exists()

    wait_for(applied, timeout=15)
    assert message.delivered_at is not None and message.read_at is not None


@pytest.mark.parametrize(
    "body",
    [
        b'{"object": "whatsapp_business_account", "entry": {"id": 1}}',
        b'{"object": "whatsapp_business_account", "entry": [1, {"changes": "x"}]}',
        b'{"object": "whatsapp_business_account", "entry": [{"changes": [{"field": "messages"}]}]}',
        b"[1, 2, 3]",
        b'"just a string"',
        b'{"object": "page", "entry": []}',
    ],
)
def test_wrong_shapes_are_kept_and_flagged_never_500(body, webhook, numbers, webhook_worker):
    response = webhook.post(body=body)
    assert response.status_code == 200
    event = wait_for(lambda: RawWebhookEvent.objects.exclude(state="received").first())
    assert event.state == "malformed"
    assert event.error


def test_bad_items_do_not_lose_their_valid_siblings(webhook, numbers, webhook_worker, org_a):
    payload = load("message_text")
    good = payload["entry"][0]["changes"][0]
    value = first_value(payload)
    value["messages"] = ["nope", {"type": "text"}, {**value["messages"][0], "timestamp": {"x": 1}}]
    value["statuses"] = "not a list"
    payload["entry"] = [
        {"id": FIXTURE_WABA_ID, "changes": [{"field": "messages", "value": 7}, good]},
        5,
    ]
    assert webhook.post(payload).status_code == 200
    wait_for(lambda: messages_in(org_a))
    event = RawWebhookEvent.objects.get()
    assert event.state == "routed"
    assert "entry 0 change 0" in event.error and "entry 1" in event.error
    change = wait_for(lambda: changes(state="processed"))[0]
    assert "messages[0] set aside: not an object" in change.error
    assert "statuses set aside: not a list" in change.error
    # The id-less message is the change's one contact's (kept with a content-derived id); the
    # one with an unusable timestamp is stored with the time it was processed.
    assert len(messages_in(org_a)) == 2


@pytest.mark.parametrize(
    ("headers", "status"),
    [({"X-Hub-Signature-256": "sha256=" + "ab" * 32}, 403), ({}, 403)],
)
def test_bad_signatures_over_http_store_nothing(webhook, numbers, headers, status):
    response = webhook.post(
        load("message_text"), headers={"Content-Type": "application/json", **headers}
    )
    assert response.status_code == status
    assert not RawWebhookEvent.objects.exists()


def test_huge_body_is_refused_over_http(webhook, numbers, settings):
    settings.WHATSAPP_WEBHOOK_MAX_BODY_BYTES = 64 * 1024
    body = encode({"object": "whatsapp_business_account", "entry": [], "pad": "x" * 200_000})
    response = webhook.post(body=body)
    assert response.status_code == 413
    assert not RawWebhookEvent.objects.exists()


def test_logs_carry_event_ids_and_never_a_token(webhook, numbers, webhook_worker, org_a, caplog):
    with caplog.at_level(logging.INFO):
        assert webhook.post(load("message_text")).status_code == 200
        wait_for(lambda: messages_in(org_a))
        wait_for(lambda: changes(state="processed"))
    text = caplog.text
    assert "event_id=" in text
    for token in TOKENS.values():
        assert token not in text


def test_an_event_stored_without_a_wakeup_is_picked_up_by_the_poll(
    live_db, numbers, webhook_worker, org_a
):
    """A row inserted behind the view's back (no NOTIFY): the worker's poll still claims it."""

    RawWebhookEventFactory(body=encode(load("message_text")))
    wait_for(lambda: messages_in(org_a))
    assert RawWebhookEvent.objects.get().state == "routed"
