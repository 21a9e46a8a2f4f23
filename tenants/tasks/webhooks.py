"""Webhook routing (public schema): split a stored event into changes and route each one."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings

from saas_platform.celery import app
from tenants.services.webhooks import webhook_event_route, webhook_events_prune, webhook_sweep

logger = logging.getLogger(__name__)

__all__ = ["webhook_event_route_task", "webhook_events_prune_task", "webhook_sweep_task"]


@app.task(acks_late=True, soft_time_limit=60, time_limit=90)
def webhook_event_route_task(event_id: int) -> str:
    """Route one RawWebhookEvent and apply its changes, each in its tenant's schema.

    Idempotent (routing and processing lock their rows), so a redelivered task is harmless; a
    change that fails gets its own retried task, and the beat sweep re-drives changes left
    pending by a worker that died mid-way.
    """
    from whatsapp.tasks.inbound import changes_process_inline

    targets = webhook_event_route(event_id=event_id, enqueue=False)
    outcomes = changes_process_inline(targets)
    return f"event {event_id}: {len(targets)} change(s): {', '.join(outcomes) or 'none'}"


@app.task(acks_late=True, soft_time_limit=120, time_limit=150)
def webhook_sweep_task() -> str:
    """Beat (public schema): route/enqueue webhook work whose task never ran (no event lost)."""
    result = webhook_sweep(older_than=timedelta(seconds=settings.WHATSAPP_WEBHOOK_SWEEP_AFTER))
    return f"re-drove {result.events_routed} event(s), {result.enqueued} change(s)"


@app.task(acks_late=True, soft_time_limit=300, time_limit=360)
def webhook_events_prune_task() -> str:
    """Beat (public schema, daily): delete settled raw events past their retention."""
    days = settings.WHATSAPP_WEBHOOK_RETENTION_DAYS
    return f"pruned {webhook_events_prune(older_than=timedelta(days=days))} event(s)"
