"""Outbound tasks: the one sending pipeline (`send_message_task`) and the stale-message sweeper.

`send_message_task` runs in the tenant that enqueued it (tenant-schemas-celery records the
schema at enqueue time and re-enters it in the worker, also for `retry`). It is thin: the
service reloads the row, returns early unless it is `queued`, records the attempt before calling
Meta and settles the row (whatsapp.services.outbound). Retries are re-scheduled with the
countdown the service computed (the shared RetryPolicy, bounded by the row's `attempts`, so
Celery's own retry counter is not the bound). `acks_late`: a worker lost mid-task redelivers it;
the service's conditional claim keeps that from sending twice.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django_tenants.utils import get_tenant_model, schema_context

from saas_platform.celery import app
from whatsapp.services.outbound import message_send, messages_sweep_stale

logger = logging.getLogger(__name__)

__all__ = ["outbound_sweep_task", "outbound_sweep_tenant_task", "send_message_task"]


@app.task(
    bind=True,
    acks_late=True,
    max_retries=None,  # bounded by the message's attempts (WHATSAPP_SEND_MAX_ATTEMPTS)
    soft_time_limit=60,
    time_limit=90,
)
def send_message_task(self, message_id: int) -> str:
    outcome = message_send(message_id=message_id)
    if outcome.retry_in is not None:
        raise self.retry(countdown=max(outcome.retry_in, 0.0))
    return outcome.result


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
    return f"failed {len(result['failed'])} unconfirmed, requeued {len(result['requeued'])}"
