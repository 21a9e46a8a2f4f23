"""Retention: raw webhook events are kept as long as they can still matter, then deleted.

An event must outlive Meta's redelivery window (7 days,
https://developers.facebook.com/docs/graph-api/webhooks/getting-started): its body hash is what
dedupes a late redelivery. Events with work still to do (unrouted, routing failed, or a change
pending, failed, unroutable or held) are kept whatever their age, since they can still be
replayed. A change without a handler
(`no_handler`) does not keep its event: replay it within the retention period.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.db.models import Exists, OuterRef
from django.utils import timezone

from tenants.models import RawWebhookEvent, WebhookChange

logger = logging.getLogger(__name__)

# Meta redelivers for up to 7 days; a day more absorbs clock skew and late retries.
MINIMUM_RETENTION = timedelta(days=8)
OPEN_CHANGE_STATES = (
    WebhookChange.State.PENDING,
    WebhookChange.State.FAILED,
    WebhookChange.State.UNROUTABLE,
    WebhookChange.State.HELD,
)


def webhook_events_prune(*, older_than: timedelta, batch_size: int = 5000) -> int:
    """Delete settled raw events (and their changes) received before `older_than` ago; returns
    how many events went.

    Deletes at most `batch_size` events per call (short locks; the beat task runs daily and
    catches up). Raises ValueError for a retention shorter than Meta's redelivery window.
    """
    if older_than < MINIMUM_RETENTION:
        raise ValueError(
            f"webhook events must be kept at least {MINIMUM_RETENTION.days} days: Meta "
            "redelivers for 7 days and the stored body hash is what dedupes a redelivery"
        )
    open_work = WebhookChange.objects.filter(event=OuterRef("pk"), state__in=OPEN_CHANGE_STATES)
    settled = (
        RawWebhookEvent.objects.filter(received_at__lt=timezone.now() - older_than)
        .exclude(state__in=[RawWebhookEvent.State.RECEIVED, RawWebhookEvent.State.FAILED])
        .exclude(Exists(open_work))
        .order_by("received_at")
        .values_list("pk", flat=True)[:batch_size]
    )
    _, per_model = RawWebhookEvent.objects.filter(pk__in=list(settled)).delete()
    events = per_model.get(RawWebhookEvent._meta.label, 0)
    if events:
        logger.info("pruned %d settled webhook event(s), retention %sd", events, older_than.days)
    return events
