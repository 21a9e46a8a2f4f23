"""Webhook housekeeping on beat (public schema). Processing itself is not a Celery task: the
webhook worker (`manage.py webhook_worker`) claims stored events directly."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings

from saas_platform.celery import app
from whatsapp.webhooks.retention import webhook_events_prune

__all__ = ["webhook_events_prune_task"]


@app.task(acks_late=True, soft_time_limit=300, time_limit=360)
def webhook_events_prune_task() -> str:
    """Beat (public schema, daily): delete settled raw events past their retention."""
    days = settings.WHATSAPP_WEBHOOK_RETENTION_DAYS
    return f"pruned {webhook_events_prune(older_than=timedelta(days=days))} event(s)"
