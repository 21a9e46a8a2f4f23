"""Outbound tasks: the one sending pipeline (`send_message_task`) and the stale-message sweeper.

`send_message_task` takes a batch of message ids (published by `messages_enqueue`, which
records the tenant's schema in the task's header; the worker re-enters it). It is thin: the
service reloads the rows, skips those no longer `queued`, claims and sends the rest and
settles them (whatsapp.services.outbound.messages_send); messages to try later are enqueued
again by the service with their own countdowns. `acks_late`: a worker lost mid-task
redelivers it; the conditional claim keeps that from sending twice.
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import timedelta

from django.conf import settings
from django_tenants.utils import get_tenant_model, schema_context

from saas_platform.celery import app
from whatsapp.services.outbound import messages_send, messages_sweep_stale

logger = logging.getLogger(__name__)

__all__ = ["outbound_sweep_task", "outbound_sweep_tenant_task", "send_message_task"]


@app.task(acks_late=True, soft_time_limit=300, time_limit=360)
def send_message_task(message_ids: list[int] | int) -> str:
    """Send a batch of queued outgoing messages (a bare id is accepted from older publishers)."""
    ids = [message_ids] if isinstance(message_ids, int) else list(message_ids)
    outcomes = messages_send(message_ids=ids)
    counts = Counter(outcome.result for outcome in outcomes.values())
    return ", ".join(f"{result} {count}" for result, count in sorted(counts.items()))


@app.task(acks_late=True, soft_time_limit=120, time_limit=180)
def outbound_sweep_task() -> str:
    """Dispatcher (public schema): one sweep per active organization, in its schema."""
    tenants = get_tenant_model().objects.exclude(
        schema_name__in=[settings.PUBLIC_SCHEMA_NAME, settings.TENANT_BASE_SCHEMA]
    )
    count = 0
    for schema in tenants.values_list("schema_name", flat=True):
        with schema_context(schema):
            outbound_sweep_tenant_task.delay()
        count += 1
    return f"dispatched {count} sweep(s)"


@app.task(acks_late=True, soft_time_limit=120, time_limit=180)
def outbound_sweep_tenant_task() -> str:
    result = messages_sweep_stale(
        unconfirmed_after=timedelta(seconds=settings.WHATSAPP_SEND_UNCONFIRMED_AFTER),
        requeue_after=timedelta(seconds=settings.WHATSAPP_SEND_REQUEUE_AFTER),
    )
    return (
        f"reclaimed {len(result['reclaimed'])} unposted, failed {len(result['failed'])} "
        f"unconfirmed, requeued {len(result['requeued'])}"
    )
