"""The webhook event log: filters, redacted bodies revealed with a reason (audited), replays
with a dry run first, the unroutable list."""

from __future__ import annotations

import json

import pytest
from django.utils import timezone

from tenants.models import AuditEntry, WebhookChange
from tests.factories import PhoneNumberFactory, RawWebhookEventFactory, WebhookChangeFactory
from whatsapp.webhooks.process import webhook_batch_process

pytestmark = pytest.mark.django_db

SECRET_TEXT = "my card number is 4111"


def _message_event(phone_number_id: str):
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550001", "phone_number_id": phone_number_id},
        "contacts": [{"profile": {"name": "Maria Customer"}, "wa_id": "15557654321"}],
        "messages": [
            {
                "from": "15557654321",
                "id": "wamid.console-1",
                "timestamp": "1700000000",
                "type": "text",
                "text": {"body": SECRET_TEXT},
            }
        ],
    }
    body = {
        "object": "whatsapp_business_account",
        "entry": [{"id": "999", "changes": [{"field": "messages", "value": value}]}],
    }
    return RawWebhookEventFactory(body=json.dumps(body).encode()), value


def test_filters_by_org_field_number_and_state(console, org_a, org_b):
    a = WebhookChangeFactory(
        organization=org_a.organization, field="messages", phone_number_id="111", state="failed"
    )
    b = WebhookChangeFactory(
        organization=org_b.organization, field="account_update", phone_number_id="222"
    )
    only_a = console.get("/console/events/?org=alpha").content.decode()
    assert f"/console/events/{a.event_id}/" in only_a
    assert f"/console/events/{b.event_id}/" not in only_a
    by_field = console.get("/console/events/?field=account_update").content.decode()
    assert f"/console/events/{b.event_id}/" in by_field
    assert f"/console/events/{a.event_id}/" not in by_field
    by_number = console.get("/console/events/?phone_number_id=111&state=failed").content.decode()
    assert f"/console/events/{a.event_id}/" in by_number
    assert f"/console/events/{b.event_id}/" not in by_number
    malformed = RawWebhookEventFactory(state="malformed")
    received = console.get("/console/events/?state=malformed").content.decode()
    assert f"/console/events/{malformed.pk}/" in received


def test_a_failed_change_says_will_retry_only_while_a_retry_is_scheduled(console, org_a, settings):
    """The worker's own batch (whatsapp.webhooks.process, in this process) applies an event
    with a `messages` handler that raises: after the first attempt a retry is scheduled, after
    the last the change waits for a replay, and the console says so, not "will retry"."""
    settings.WHATSAPP_WEBHOOK_MAX_ATTEMPTS = 2
    settings.WHATSAPP_WEBHOOK_HANDLERS = {
        **settings.WHATSAPP_WEBHOOK_HANDLERS,
        "messages": "tests.console.broken_handler.broken_messages_handler",
    }
    number = PhoneNumberFactory(organization=org_a.organization)
    event, _ = _message_event(number.phone_number_id)

    webhook_batch_process()
    change = WebhookChange.objects.get(event=event)
    assert (change.state, change.attempts) == ("failed", 1) and change.next_attempt_at
    page = console.get(f"/console/events/{event.pk}/").content.decode()
    assert "Failed (will retry)" in page and "retries exhausted" not in page
    assert "Failed (will retry)" in console.get("/console/events/?org=alpha").content.decode()

    WebhookChange.objects.filter(pk=change.pk).update(next_attempt_at=timezone.now())
    webhook_batch_process()
    change.refresh_from_db()
    assert (change.state, change.attempts, change.next_attempt_at) == ("failed", 2, None)
    for path in (f"/console/events/{event.pk}/", "/console/events/?org=alpha"):
        page = console.get(path).content.decode()
        assert "Failed (retries exhausted; waits for a replay)" in page, path
        assert "will retry" not in page, path


def test_body_redacted_until_revealed_with_a_reason_and_audited(console, org_a):
    event, value = _message_event("3100")
    WebhookChangeFactory(
        event=event,
        organization=org_a.organization,
        value=value,
        state="failed",
        error="KeyError: 'x'",
    )
    page = console.get(f"/console/events/{event.pk}/").content.decode()
    assert SECRET_TEXT not in page and "Maria Customer" not in page
    assert "KeyError: &#x27;x&#x27;" in page
    assert "wamid.console-1" in page  # Meta's ids stay readable

    refused = console.post(f"/console/events/{event.pk}/", {"reason": "ticket 42"})
    assert refused.status_code == 400 and SECRET_TEXT not in refused.content.decode()
    assert not AuditEntry.objects.filter(
        action="webhook.body_revealed", actor_label="ops@platform.test"
    ).exists()

    shown = console.post(f"/console/events/{event.pk}/", {"reason": "ticket 42", "confirm": "on"})
    assert SECRET_TEXT in shown.content.decode()
    entry = AuditEntry.objects.get(action="webhook.body_revealed", actor_label="ops@platform.test")
    assert entry.reason == "ticket 42"
    assert entry.org_slug == "alpha"
    assert entry.details == {"event_id": event.pk}
    assert entry.actor_label == "ops@platform.test"
    # The next plain view is redacted again.
    assert SECRET_TEXT not in console.get(f"/console/events/{event.pk}/").content.decode()


def test_replay_filtered_set_shows_a_dry_run_count_first(console, org_a, org_b):
    number_a = PhoneNumberFactory(organization=org_a.organization).phone_number_id
    number_b = PhoneNumberFactory(organization=org_b.organization).phone_number_id
    failed = [
        WebhookChangeFactory(
            organization=org_a.organization, phone_number_id=number_a, state="failed", attempts=5
        )
        for _ in range(3)
    ]
    WebhookChangeFactory(organization=org_a.organization, state="processed")
    other = WebhookChangeFactory(
        organization=org_b.organization, phone_number_id=number_b, state="failed", attempts=5
    )

    dry = console.get("/console/events/replay/?org=alpha&state=failed")
    assert "<strong>3</strong> replayable changes" in dry.content.decode()
    assert all(
        c.state == "failed" for c in WebhookChange.objects.filter(pk__in=[f.pk for f in failed])
    )

    response = console.post(
        "/console/events/replay/?org=alpha&state=failed", {"reason": "bug fixed", "confirm": "on"}
    )
    assert response.status_code == 302
    assert set(
        WebhookChange.objects.filter(pk__in=[f.pk for f in failed]).values_list("state", "attempts")
    ) == {("pending", 0)}
    other.refresh_from_db()
    assert other.state == "failed"
    entry = AuditEntry.objects.get(action="webhook.replayed", actor_label="ops@platform.test")
    assert entry.details["requeued"] == 3 and entry.reason == "bug fixed"


def test_replay_one_event(console, org_a):
    change = WebhookChangeFactory(
        organization=org_a.organization,
        phone_number_id=PhoneNumberFactory(organization=org_a.organization).phone_number_id,
        state="failed",
        attempts=5,
    )
    refused = console.post(f"/console/events/{change.event_id}/replay/", {"reason": "x"})
    assert refused.status_code == 302
    change.refresh_from_db()
    assert change.state == "failed"
    console.post(f"/console/events/{change.event_id}/replay/", {"reason": "retry", "confirm": "on"})
    change.refresh_from_db()
    assert change.state == "pending"


def test_unroutable_list_offers_replay_once_the_number_is_connected(console, org_a):
    change = WebhookChangeFactory(phone_number_id="5550123", state="unroutable")
    page = console.get("/console/events/unroutable/").content.decode()
    assert "5550123" in page and "nobody yet" in page
    PhoneNumberFactory(organization=org_a.organization, phone_number_id="5550123")
    page = console.get("/console/events/unroutable/").content.decode()
    assert "/console/tenants/alpha/" in page
    assert "state=unroutable&amp;phone_number_id=5550123" in page
    console.post(
        "/console/events/replay/?state=unroutable&phone_number_id=5550123",
        {"reason": "number connected", "confirm": "on"},
    )
    change.refresh_from_db()
    assert change.state == "pending" and change.organization_id == org_a.organization.pk


def test_health_and_audit_pages(console, org_a):
    WebhookChangeFactory(organization=org_a.organization, state="pending")
    WebhookChangeFactory(organization=org_a.organization, state="failed", attempts=5)
    page = console.get("/console/health/").content.decode()
    assert "Oldest unprocessed change" in page and 'hx-trigger="every' in page
    assert '<a href="/console/events/?state=failed">1</a>' in page
    panel = console.get("/console/health/", HTTP_HX_REQUEST="true").content.decode()
    assert "<html" not in panel and "Celery queues" in panel
    console.post(
        "/console/tenants/alpha/suspend/",
        {"category": "other", "reason": "audit me", "confirm": "on"},
    )
    audit = console.get("/console/audit/?org=alpha&action=organization.").content.decode()
    assert "organization.suspended" in audit and "audit me" in audit
    assert "organization.suspended" not in console.get("/console/audit/?org=beta").content.decode()
