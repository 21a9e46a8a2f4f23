"""Follow-up jobs of inbound processing, enqueued by task name (services never import tasks).

Each helper publishes after the current transaction commits, in the schema current at call time
(saas_platform.queue), so the worker sees the row and runs in the right tenant. The retry
policies of those jobs live here too and read settings at call time, so a test or a deployment
changes them through settings, not by patching module globals.
"""

from __future__ import annotations

from django.conf import settings

from saas_platform.queue import enqueue_on_commit
from whatsapp.graph.retry import RetryPolicy

MEDIA_DOWNLOAD_TASK = "whatsapp.tasks.inbound.media_download_task"
PENDING_STATUS_RECONCILE_TASK = "whatsapp.tasks.inbound.pending_status_reconcile_task"


def media_retry_policy() -> RetryPolicy:
    """Backoff of an inbound media download (seconds; attempts include the first)."""
    return RetryPolicy(
        max_attempts=settings.WHATSAPP_MEDIA_MAX_ATTEMPTS,
        base_delay=settings.WHATSAPP_MEDIA_RETRY_BASE_DELAY,
        max_delay=settings.WHATSAPP_MEDIA_RETRY_MAX_DELAY,
    )


def reconcile_retry_policy() -> RetryPolicy:
    """How a parked status looks for its message row again: first after ~1 s, then doubling
    (no jitter: the wait is for a commit, not a shared resource)."""
    return RetryPolicy(
        max_attempts=settings.WHATSAPP_PENDING_STATUS_MAX_ATTEMPTS,
        base_delay=settings.WHATSAPP_PENDING_STATUS_RETRY_BASE_DELAY,
        max_delay=settings.WHATSAPP_PENDING_STATUS_RETRY_MAX_DELAY,
        jitter=False,
    )


def media_download_enqueue(*, media_id: int, countdown: float | None = None) -> None:
    """Download WhatsAppMedia `media_id` once the caller's transaction commits (after
    `countdown` seconds when given)."""
    enqueue_on_commit(MEDIA_DOWNLOAD_TASK, args=[media_id], countdown=countdown)


def pending_status_reconcile_enqueue(*, wamid: str, attempt: int) -> None:
    """Look for the message row of the receipts parked under `wamid` again, after the
    reconcile policy's delay for `attempt` (1 = the first look)."""
    delay = reconcile_retry_policy().delay_for(attempt)
    enqueue_on_commit(PENDING_STATUS_RECONCILE_TASK, args=[wamid, attempt], countdown=delay)
