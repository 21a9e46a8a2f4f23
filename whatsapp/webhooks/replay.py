"""Replay: put unsettled webhook work back in the worker's queue.

Nothing is enqueued anywhere: the worker claims RECEIVED events and due PENDING changes, so a
replay only resets rows (routing again the ones that had no owner or a suspended owner) and
notifies the workers.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import connection, transaction

from tenants.models import RawWebhookEvent, WebhookChange
from whatsapp.webhooks.receive import NOTIFY_CHANNEL
from whatsapp.webhooks.route import RoutingTable

logger = logging.getLogger(__name__)

REPLAYABLE_STATES = (
    WebhookChange.State.UNROUTABLE,
    WebhookChange.State.FAILED,
    WebhookChange.State.HELD,
    WebhookChange.State.PENDING,
    WebhookChange.State.NO_HANDLER,
)


@dataclass
class ReplayResult:
    events_requeued: int = 0
    requeued: int = 0
    still_unroutable: int = 0
    still_held: int = 0


@transaction.atomic
def webhook_replay(
    *,
    states: Iterable[str] = REPLAYABLE_STATES,
    event_id: int | None = None,
    organization_id: int | None = None,
    change_ids: Iterable[int] | None = None,
) -> ReplayResult:
    """Re-route changes in `states` (optionally only those of one event, of one organization,
    or with the given ids) and queue the routable ones, in id order (the order Meta sent them).

    Unroutable and held changes are routed again (the number may be connected now, the
    organization reactivated); failed, pending and no_handler ones go back to PENDING with their
    attempts reset (a no_handler change ends no_handler again if its field still has none).
    Events whose routing failed for good go back to RECEIVED. Rows locked by a worker are skipped.
    """
    result = ReplayResult()
    # Events whose routing failed have no changes (yet): only a replay not narrowed to some
    # organization's or some ids' changes queues them again.
    if organization_id is None and change_ids is None:
        events = RawWebhookEvent.objects.filter(state=RawWebhookEvent.State.FAILED)
        if event_id is not None:
            events = events.filter(pk=event_id)
        result.events_requeued = events.update(
            state=RawWebhookEvent.State.RECEIVED, attempts=0, next_attempt_at=None
        )
    changes = WebhookChange.objects.select_for_update(skip_locked=True).filter(
        state__in=list(states)
    )
    if event_id is not None:
        changes = changes.filter(event_id=event_id)
    if organization_id is not None:
        changes = changes.filter(organization_id=organization_id)
    if change_ids is not None:
        changes = changes.filter(pk__in=list(change_ids))
    changes = list(changes.order_by("pk"))
    table = RoutingTable(
        phone_number_ids=(c.phone_number_id for c in changes),
        waba_ids=(c.waba_id for c in changes),
    )
    for change in changes:
        owner = table.owner(phone_number_id=change.phone_number_id, waba_id=change.waba_id)
        change.organization_id = owner.organization_id if owner else None
        change.attempts = 0
        change.next_attempt_at = None
        change.processed_at = None
        if owner is None:
            change.state, change.error = (
                WebhookChange.State.UNROUTABLE,
                "no organization owns this number",
            )
            result.still_unroutable += 1
        elif not owner.is_active:
            change.state = WebhookChange.State.HELD
            change.error = f"organization {owner.slug} is {owner.status}"
            result.still_held += 1
        else:
            change.state, change.error = WebhookChange.State.PENDING, ""
            result.requeued += 1
        logger.info(
            "webhook change replayed: event_id=%s change_id=%s org=%s state=%s",
            change.event_id,
            change.pk,
            owner.slug if owner else "-",
            change.state,
        )
    WebhookChange.objects.bulk_update(
        changes,
        ["organization", "attempts", "next_attempt_at", "processed_at", "state", "error"],
    )
    if result.requeued or result.events_requeued:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_notify(%s, '')", [NOTIFY_CHANNEL])
    return result
