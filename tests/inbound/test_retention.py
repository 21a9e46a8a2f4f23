"""Raw webhook events are pruned once settled and past retention, never while replayable."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from tenants.models import RawWebhookEvent, WebhookChange
from tests.factories import RawWebhookEventFactory, WebhookChangeFactory
from whatsapp.webhooks.retention import webhook_events_prune

pytestmark = pytest.mark.django_db


def event(*, days_old: float, state: str = "routed", change_state: str | None = "processed"):
    body = f"event {days_old} {state} {change_state}".encode()
    row = RawWebhookEventFactory(body=body, state=state)
    RawWebhookEvent.objects.filter(pk=row.pk).update(
        received_at=timezone.now() - timedelta(days=days_old)
    )
    if change_state:
        WebhookChangeFactory(event=row, state=change_state)
    return row


def test_settled_old_events_go_and_everything_else_stays() -> None:
    old_processed = event(days_old=40)
    old_malformed = event(days_old=40, state="malformed", change_state=None)
    old_unroutable = event(days_old=40, change_state="unroutable")
    old_failed = event(days_old=40, change_state="failed")
    old_unrouted = event(days_old=40, state="received", change_state=None)
    recent_processed = event(days_old=3)

    assert webhook_events_prune(older_than=timedelta(days=30)) == 2

    remaining = set(RawWebhookEvent.objects.values_list("pk", flat=True))
    assert old_processed.pk not in remaining
    assert old_malformed.pk not in remaining
    assert {old_unroutable.pk, old_failed.pk, old_unrouted.pk, recent_processed.pk} <= remaining
    assert not WebhookChange.objects.filter(event_id=old_processed.pk).exists()


def test_retention_shorter_than_metas_redelivery_window_is_refused() -> None:
    event(days_old=10)
    with pytest.raises(ValueError, match="at least 8 days"):
        webhook_events_prune(older_than=timedelta(days=3))
    assert RawWebhookEvent.objects.count() == 1


def test_pruning_works_in_batches() -> None:
    for _ in range(3):
        event(days_old=40 + _, change_state=None)
    assert webhook_events_prune(older_than=timedelta(days=30), batch_size=2) == 2
    assert webhook_events_prune(older_than=timedelta(days=30), batch_size=2) == 1
    assert RawWebhookEvent.objects.count() == 0
