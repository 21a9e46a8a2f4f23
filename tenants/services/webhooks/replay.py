"""Replay and sweep: re-drive unroutable, held, failed and lost webhook work."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from tenants.models import RawWebhookEvent, WebhookChange
from tenants.services.webhooks.route import (
    ChangeSpec,
    change_state_for,
    organization_for_change,
    webhook_changes_enqueue,
    webhook_event_route,
)

logger = logging.getLogger(__name__)

REPLAYABLE_STATES = (
    WebhookChange.State.UNROUTABLE,
    WebhookChange.State.FAILED,
    WebhookChange.State.HELD,
    WebhookChange.State.PENDING,
)


@dataclass
class ReplayResult:
    events_routed: int = 0
    enqueued: int = 0
    still_unroutable: int = 0
    still_held: int = 0


def webhook_replay(
    *, states: Iterable[str] = REPLAYABLE_STATES, event_id: int | None = None
) -> ReplayResult:
    """Re-route and re-enqueue changes in `states` (optionally of one event).

    Unroutable and held changes are routed again (the number may be connected now, the
    organization reactivated); failed and pending ones are enqueued again with their attempts
    reset. Events still RECEIVED (their routing task was lost) are routed first.
    """
    result = ReplayResult()
    events = RawWebhookEvent.objects.filter(state=RawWebhookEvent.State.RECEIVED)
    if event_id is not None:
        events = events.filter(pk=event_id)
    for pk in events.values_list("pk", flat=True):
        webhook_event_route(event_id=pk)
        result.events_routed += 1
    changes = WebhookChange.objects.filter(state__in=list(states))
    if event_id is not None:
        changes = changes.filter(event_id=event_id)
    targets: list[tuple[int, str]] = []
    for change_id in changes.order_by("pk").values_list("pk", flat=True):
        with transaction.atomic():
            change = (
                WebhookChange.objects.select_for_update()
                .filter(pk=change_id, state__in=list(states))
                .first()
            )
            if change is None:
                continue
            organization = organization_for_change(
                phone_number_id=change.phone_number_id, waba_id=change.waba_id
            )
            spec = ChangeSpec(0, 0, change.field, change.phone_number_id, change.waba_id, {})
            state, error = change_state_for(spec, organization)
            change.organization = organization
            change.state = state
            change.error = error
            change.attempts = 0
            if state == WebhookChange.State.PROCESSED:
                change.processed_at = timezone.now()
            change.save()
            if state == WebhookChange.State.PENDING:
                targets.append((change.pk, organization.schema_name))
            elif state == WebhookChange.State.UNROUTABLE:
                result.still_unroutable += 1
            elif state == WebhookChange.State.HELD:
                result.still_held += 1
        logger.info(
            "webhook change replayed: event_id=%s change_id=%s org=%s state=%s",
            change.event_id,
            change.pk,
            organization.slug if organization else "-",
            change.state,
        )
    webhook_changes_enqueue(targets)
    result.enqueued = len(targets)
    return result


def webhook_sweep(*, older_than: timedelta) -> ReplayResult:
    """Re-drive work whose task was lost: events still RECEIVED and changes still PENDING after
    `older_than` (the broker was down when they were acknowledged, or a worker died holding
    them). Enqueueing twice is harmless: routing and processing are idempotent and locked."""
    result = ReplayResult()
    cutoff = timezone.now() - older_than
    stale_events = RawWebhookEvent.objects.filter(
        state=RawWebhookEvent.State.RECEIVED, received_at__lt=cutoff
    )
    for pk in stale_events.values_list("pk", flat=True)[:1000]:
        webhook_event_route(event_id=pk)
        result.events_routed += 1
    stale_changes = (
        WebhookChange.objects.filter(state=WebhookChange.State.PENDING, created_at__lt=cutoff)
        .exclude(organization=None)
        .values_list("pk", "organization__schema_name")[:1000]
    )
    targets = list(stale_changes)
    webhook_changes_enqueue(targets)
    result.enqueued = len(targets)
    if result.events_routed or result.enqueued:
        logger.warning(
            "webhook sweep re-drove stale work: events=%d changes=%d",
            result.events_routed,
            result.enqueued,
        )
    return result
