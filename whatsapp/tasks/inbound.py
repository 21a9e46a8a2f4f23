"""Inbound tasks, run in the tenant's schema (tenant-schemas-celery switches the worker to the
schema that was active when the task was sent; senders use `schema_context`).

Webhook changes themselves are applied by the webhook worker (whatsapp.webhooks), not here; the
messages handler enqueues these follow-ups: media downloads and parked-receipt reconciliation."""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import connection
from django_tenants.utils import schema_context

from saas_platform.celery import app
from whatsapp.graph.retry import RetryPolicy
from whatsapp.models import WhatsAppMedia
from whatsapp.services.media import MediaIntegrityError, download_media, media_mark_failed
from whatsapp.services.statuses import pending_statuses_reconcile

logger = logging.getLogger(__name__)

__all__ = [
    "media_download_task",
    "pending_status_reconcile_task",
]

# Media downloads and parked receipts retry with the product's one policy (whatsapp.graph.retry).
MEDIA_RETRY = RetryPolicy(
    max_attempts=settings.WHATSAPP_MEDIA_MAX_ATTEMPTS, base_delay=2.0, max_delay=600.0
)
# A parked status waits for its row: first look after ~1 s, then doubling up to 2 minutes.
RECONCILE_RETRY = RetryPolicy(
    max_attempts=settings.WHATSAPP_PENDING_STATUS_MAX_ATTEMPTS,
    base_delay=1.0,
    max_delay=120.0,
    jitter=False,
)


@app.task(acks_late=True, soft_time_limit=150, time_limit=180)
def media_download_task(media_pk: int) -> str:
    """Download, verify and store one inbound media file; the message never depends on it."""
    schema = connection.schema_name
    try:
        download_media(media_pk=media_pk)
    except Exception as exc:
        done = WhatsAppMedia.objects.filter(pk=media_pk).values_list("attempts", flat=True).first()
        attempt = (done or 0) + 1
        retry = attempt < MEDIA_RETRY.max_attempts and (
            MEDIA_RETRY.should_retry(exc, attempt) or isinstance(exc, MediaIntegrityError)
        )
        media_mark_failed(media_pk=media_pk, error=f"{type(exc).__name__}: {exc}", final=not retry)
        if not retry:
            logger.warning("media download failed for good: media=%s error=%s", media_pk, exc)
            return "failed"
        delay = MEDIA_RETRY.delay_for(attempt, exc)
        logger.info("media download failed, retrying: media=%s wait=%.1fs", media_pk, delay)
        with schema_context(schema):
            media_download_task.apply_async(args=[media_pk], countdown=delay)
        return "retrying"
    return "stored"


def enqueue_pending_reconcile(*, wamid: str, attempt: int, schema: str | None = None) -> None:
    """Look for a parked status's message row again after the policy's delay."""
    delay = RECONCILE_RETRY.delay_for(attempt)
    with schema_context(schema or connection.schema_name):
        pending_status_reconcile_task.apply_async(args=[wamid, attempt], countdown=delay)


@app.task(acks_late=True, soft_time_limit=60, time_limit=90)
def pending_status_reconcile_task(wamid: str, attempt: int = 1) -> str:
    """Apply parked receipts for `wamid` once its row is visible; back off while it is not."""
    if pending_statuses_reconcile(wamid=wamid):
        return "applied"
    if attempt + 1 >= RECONCILE_RETRY.max_attempts:
        logger.warning("parked status still unmatched, giving up: wamid=%s", wamid)
        return "still parked"
    enqueue_pending_reconcile(wamid=wamid, attempt=attempt + 1)
    return "waiting"
