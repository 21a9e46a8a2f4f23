"""Inbound tasks, run in the tenant's schema (tenant-schemas-celery switches the worker to the
schema that was active when the task was sent; senders use `schema_context`)."""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import connection
from django_tenants.utils import schema_context

from saas_platform.celery import app
from tenants.models import WebhookChange
from tenants.services.webhooks import (
    WrongTenantError,
    webhook_change_mark_failed,
    webhook_change_process,
    webhook_changes_enqueue,
)
from whatsapp.graph.retry import RetryPolicy
from whatsapp.models import WhatsAppMedia
from whatsapp.services.inbound import inbound_change_apply
from whatsapp.services.media import MediaIntegrityError, download_media, media_mark_failed
from whatsapp.services.statuses import pending_statuses_reconcile

logger = logging.getLogger(__name__)

__all__ = [
    "media_download_task",
    "pending_status_reconcile_task",
    "webhook_change_process_task",
]

# The product's one retry policy (whatsapp.graph.retry), with our own parameters. Processing a
# change fails for database reasons (deadlock, connection loss) or bugs, not Graph errors, so
# every exception is retried a few times and the change then stays FAILED for replay.
CHANGE_RETRY = RetryPolicy(
    max_attempts=settings.WHATSAPP_WEBHOOK_MAX_ATTEMPTS, base_delay=2.0, max_delay=300.0
)
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


def _apply(change: WebhookChange) -> str:
    result = inbound_change_apply(value=change.value, phone_number_id=change.phone_number_id)
    logger.info(
        "webhook change applied: event_id=%s change_id=%s %s",
        change.event_id,
        change.pk,
        result.summary(),
    )
    return "; ".join(result.notes)


@app.task(acks_late=True, soft_time_limit=60, time_limit=90)
def webhook_change_process_task(change_id: int) -> str:
    """Apply one routed `messages` change in its tenant; retried with backoff on failure."""
    return change_process_or_retry(change_id=change_id)


def changes_process_inline(targets: list[tuple[int, str]]) -> list[str]:
    """Apply routed changes right here, each in its own tenant's schema.

    The routing task calls this so that a webhook costs one task, not one per change; a change
    that fails falls back to its own retried task, exactly as if it had been enqueued.
    """
    outcomes = []
    for change_id, schema_name in targets:
        with schema_context(schema_name):
            outcomes.append(change_process_or_retry(change_id=change_id))
    return outcomes


def change_process_or_retry(*, change_id: int) -> str:
    """Process one change in the current schema; on failure record it and schedule a retry."""
    schema = connection.schema_name
    try:
        outcome = webhook_change_process(change_id=change_id, apply=_apply)
    except WrongTenantError as exc:
        logger.error("webhook change refused: change_id=%s: %s", change_id, exc)
        return "wrong tenant"
    except Exception as exc:
        attempts = webhook_change_mark_failed(
            change_id=change_id, error=f"{type(exc).__name__}: {exc}"
        )
        if attempts and attempts < CHANGE_RETRY.max_attempts:
            delay = CHANGE_RETRY.delay_for(attempts, exc)
            logger.warning(
                "webhook change failed, retrying: change_id=%s attempt=%s wait=%.1fs error=%s",
                change_id,
                attempts,
                delay,
                type(exc).__name__,
            )
            webhook_changes_enqueue([(change_id, schema)], countdown=delay)
            return f"failed (attempt {attempts}), retrying"
        logger.exception(
            "webhook change failed for good: change_id=%s attempts=%s", change_id, attempts
        )
        return "failed"
    return outcome or "skipped"


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
