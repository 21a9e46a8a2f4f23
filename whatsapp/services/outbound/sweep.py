"""`messages_sweep_stale`: settle sends whose answer never came and re-queue lost tasks;
`messages_reclaim_unposted`: take back claims whose request was never written (a worker lost)."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.db.models import Q
from django.utils import timezone

from whatsapp.models import WhatsAppMessage
from whatsapp.services.outbound.enqueue import messages_enqueue
from whatsapp.services.outbound.fence import FENCE_MARGIN, fence_key, fence_revoke
from whatsapp.services.outbound.rules import FailureReason, Status
from whatsapp.services.outbound.send import message_fail

RECLAIM_BATCH = 1000  # rows looked at per Redis call and UPDATE


def messages_reclaim_unposted(*, older_than: timedelta, idempotency_prefix: str = "") -> list[int]:
    """Put back in the queue the `sending` rows claimed more than `older_than` ago whose request
    was never written (their sender died, or is so late that it must not send any more), and
    enqueue them; returns their ids. `idempotency_prefix` narrows it to one feature's rows
    (a campaign's).

    Safe whatever the sender's state: each claim is revoked in the wire fence
    (`whatsapp.services.outbound.fence`) first, and a claim whose request may have been written
    (`posted`) is left `sending` for its status webhook or the unconfirmed sweep. Nothing can be
    sent twice; an attempt revoked this way stays counted. Rows claimed longer ago than the
    fence keys live are left to `messages_sweep_stale`.
    """
    now = timezone.now()
    rows = WhatsAppMessage.objects.filter(
        direction=WhatsAppMessage.Direction.OUTGOING,
        status=Status.SENDING,
        last_attempt_at__lt=now - older_than,
        last_attempt_at__gt=now
        - timedelta(seconds=settings.WHATSAPP_SEND_UNCONFIRMED_AFTER + FENCE_MARGIN // 2),
    )
    if idempotency_prefix:
        rows = rows.filter(idempotency_key__startswith=idempotency_prefix)
    claims = list(rows.values_list("pk", "client_reference", "attempts")[:RECLAIM_BATCH])
    if not claims:
        return []
    revoked = fence_revoke([fence_key(client_reference=r, attempt=n) for _, r, n in claims])
    ids = [pk for (pk, _, _), gone in zip(claims, revoked, strict=True) if gone]
    attempts = [n for (_, _, n), gone in zip(claims, revoked, strict=True) if gone]
    if not ids:
        return []
    table = connection.ops.quote_name(WhatsAppMessage._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} AS m SET status = %s, updated_at = %s, next_attempt_at = NULL "  # noqa: S608 - the table name is ours, values are parameters
            "FROM unnest(%s::bigint[], %s::int[]) AS c (id, attempts) "
            "WHERE m.id = c.id AND m.status = %s AND m.attempts = c.attempts RETURNING m.id",
            [Status.QUEUED, now, ids, attempts, Status.SENDING],
        )
        back = [row[0] for row in cursor.fetchall()]
    messages_enqueue(message_ids=back)
    return back


def messages_sweep_stale(
    *, unconfirmed_after: timedelta, requeue_after: timedelta
) -> dict[str, list[int]]:
    """Settle outgoing messages nobody will finish (runs per tenant, periodically).

    - `sending` for longer than WHATSAPP_SEND_RECLAIM_AFTER and never written to Meta (a worker
      died between the claim and the request): back to `queued` and enqueued
      (`messages_reclaim_unposted`).
    - `sending` for longer than `unconfirmed_after` (timeout after the request was sent, or a
      worker died mid-call) and no status webhook settled it: `failed`, `send_unconfirmed`.
      Never re-sent: Meta may have delivered it (at-most-once, module docstring).
    - `queued` untouched for longer than `requeue_after` (its task was lost), or deferred
      (`next_attempt_at`, e.g. 131049's 24 h) and now due: enqueued again in batches; the
      conditional claim makes a duplicate task harmless. A safety net: every creator enqueues
      through `messages_enqueue`, so no row waits for this in the normal path.
    """
    reclaimed = messages_reclaim_unposted(
        older_than=timedelta(seconds=settings.WHATSAPP_SEND_RECLAIM_AFTER)
    )
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
    return {"failed": failed, "requeued": requeued, "reclaimed": reclaimed}
