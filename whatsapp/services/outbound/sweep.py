"""`messages_sweep_stale`: settle sends whose answer never came and re-queue lost tasks."""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Q
from django.utils import timezone

from whatsapp.models import WhatsAppMessage
from whatsapp.services.outbound.enqueue import messages_enqueue
from whatsapp.services.outbound.rules import FailureReason, Status
from whatsapp.services.outbound.send import message_fail


def messages_sweep_stale(
    *, unconfirmed_after: timedelta, requeue_after: timedelta
) -> dict[str, list[int]]:
    """Settle outgoing messages nobody will finish (runs per tenant, periodically).

    - `sending` for longer than `unconfirmed_after` (timeout after the request was sent, or a
      worker died mid-call) and no status webhook settled it: `failed`, `send_unconfirmed`.
      Never re-sent: Meta may have delivered it (at-most-once, module docstring).
    - `queued` untouched for longer than `requeue_after` (its task was lost), or deferred
      (`next_attempt_at`, e.g. 131049's 24 h) and now due: enqueued again in batches; the
      conditional claim makes a duplicate task harmless. A safety net: every creator enqueues
      through `messages_enqueue`, so no row waits for this in the normal path.
    """
    now = timezone.now()
    stuck = list(
        WhatsAppMessage.objects.filter(
            direction=WhatsAppMessage.Direction.OUTGOING,
            status=Status.SENDING,
            last_attempt_at__lt=now - unconfirmed_after,
        ).values_list("pk", flat=True)
    )
    failed = [
        pk
        for pk in stuck
        if message_fail(
            pk,
            reason=FailureReason.SEND_UNCONFIRMED,
            message="The send call timed out after the request was sent and no status "
            "arrived: Meta may or may not have delivered it. Not retried, to avoid a duplicate.",
        )
    ]
    requeued = list(
        WhatsAppMessage.objects.filter(
            direction=WhatsAppMessage.Direction.OUTGOING,
            status=Status.QUEUED,
        )
        .filter(
            Q(next_attempt_at__isnull=True, updated_at__lt=now - requeue_after)
            | Q(next_attempt_at__lte=now)
        )
        .values_list("pk", flat=True)
    )
    messages_enqueue(message_ids=requeued)
    return {"failed": failed, "requeued": requeued}
