"""Inbound tasks, run in the tenant's schema (tenant-schemas-celery switches the worker to the
schema recorded when the task was sent; whatsapp.services.jobs enqueues them by name through
saas_platform.queue, which records it).

Webhook changes themselves are applied by the webhook worker (whatsapp.webhooks), not here; the
messages handler enqueues these follow-ups: media downloads and parked-receipt reconciliation."""

from __future__ import annotations

import logging

from saas_platform.celery import app
from whatsapp.models import WhatsAppMedia
from whatsapp.services.jobs import (
    media_download_enqueue,
    media_retry_policy,
    pending_status_reconcile_enqueue,
    reconcile_retry_policy,
)
from whatsapp.services.media import MediaIntegrityError, download_media, media_mark_failed
from whatsapp.services.statuses import pending_statuses_reconcile

logger = logging.getLogger(__name__)

__all__ = [
    "media_download_task",
    "pending_status_reconcile_task",
]


@app.task(acks_late=True, soft_time_limit=150, time_limit=180)
def media_download_task(media_pk: int) -> str:
    """Download, verify and store one inbound media file; the message never depends on it."""
    policy = media_retry_policy()
    try:
        download_media(media_pk=media_pk)
    except Exception as exc:
        done = WhatsAppMedia.objects.filter(pk=media_pk).values_list("attempts", flat=True).first()
        attempt = (done or 0) + 1
        retry = attempt < policy.max_attempts and (
            policy.should_retry(exc, attempt) or isinstance(exc, MediaIntegrityError)
        )
        media_mark_failed(media_pk=media_pk, error=f"{type(exc).__name__}: {exc}", final=not retry)
        if not retry:
            logger.warning("media download failed for good: media=%s error=%s", media_pk, exc)
            return "failed"
        delay = policy.delay_for(attempt, exc)
        logger.info("media download failed, retrying: media=%s wait=%.1fs", media_pk, delay)
        media_download_enqueue(media_id=media_pk, countdown=delay)
        return "retrying"
    return "stored"


@app.task(acks_late=True, soft_time_limit=60, time_limit=90)
def pending_status_reconcile_task(wamid: str, attempt: int = 1) -> str:
    """Apply parked receipts for `wamid` once its row is visible; back off while it is not."""
    if pending_statuses_reconcile(wamid=wamid):
        return "applied"
    if attempt + 1 >= reconcile_retry_policy().max_attempts:
        logger.warning("parked status still unmatched, giving up: wamid=%s", wamid)
        return "still parked"
    pending_status_reconcile_enqueue(wamid=wamid, attempt=attempt + 1)
    return "waiting"
