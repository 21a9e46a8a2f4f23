"""`messages_enqueue`: the one way an outgoing message reaches the sending task."""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings

from saas_platform.queue import enqueue_batches_on_commit

SEND_TASK = "whatsapp.tasks.outbound.send_message_task"


def messages_enqueue(*, message_ids: Iterable[int], countdown: float | None = None) -> int:
    """Send these queued outgoing messages of the current tenant once the transaction commits.

    Used by every creator: the post_save signal (API, admin, ORM), `messages_bulk_create`
    (campaigns; or any `bulk_create(...)` followed by this call: no sweeper involved), the
    sending task's own retries and the sweeper. Ids go out in batches of
    `WHATSAPP_SEND_BATCH_SIZE` (one Celery message per batch); the task claims only rows that
    are still `queued`, so an id enqueued twice is sent once. Returns the number of tasks.
    """
    return enqueue_batches_on_commit(
        SEND_TASK,
        ids=message_ids,
        batch_size=int(getattr(settings, "WHATSAPP_SEND_BATCH_SIZE", 500)),
        countdown=countdown,
    )
