"""The pipeline's health for the console's self-refreshing page: queue depths (the Prometheus
collector's own readings, saas_platform.metrics), the oldest unprocessed webhook work, Celery
workers answering a ping, webhook workers beating (whatsapp.webhooks.heartbeat), each number's
outbound backlog and limiter state, failures of the last hour and halted tokens.

Per-organization numbers (backlog, failed sends) come from ONE `UNION ALL` over the schemas of
organizations that have numbers, not a query per organization.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import redis
from django.conf import settings
from django.db import connection
from django.db.models import Min
from django.utils import timezone

from saas_platform.metrics import StateCollector
from tenants.models import Organization, PhoneNumber, RawWebhookEvent, WebhookChange
from tenants.models import WhatsAppCredential as Credential
from whatsapp.console.selectors_tenants import quote_name, schemas_with_messages
from whatsapp.services.ratelimit import limiter_for_number, number_messages_per_second
from whatsapp.webhooks.heartbeat import WorkerBeat, webhook_workers_alive

logger = logging.getLogger(__name__)


@dataclass
class PipelineHealth:
    checked_at: datetime
    queues: dict[str, int | None] = field(default_factory=dict)
    oldest_pending_change: datetime | None = None
    oldest_received_event: datetime | None = None
    workers: list[str] | None = None
    webhook_workers: list[WorkerBeat] | None = None
    last_processed_at: datetime | None = None
    backlog: list[dict[str, Any]] = field(default_factory=list)
    failed_changes_hour: int = 0
    failed_sends_hour: int = 0
    halted_tokens: list[Credential] = field(default_factory=list)


def _queue_depths() -> dict[str, int | None]:
    """queue -> messages waiting, read by the metrics collector (None: Redis unreachable)."""
    depths: dict[str, int | None] = {q.name: None for q in settings.CELERY_TASK_QUEUES}
    # The collector's queue reading alone (its other readings count every webhook row).
    for family in StateCollector()._queues():
        for sample in family.samples:
            depths[sample.labels["queue"]] = int(sample.value)
    return depths


def _workers() -> list[str] | None:
    """Hostnames of the Celery workers that answered a ping within a second (None: the
    broker could not be asked)."""
    from saas_platform.celery import app

    try:
        replies = app.control.ping(timeout=1.0) or []
    except Exception:
        logger.warning("console: worker ping failed", exc_info=True)
        return None
    return sorted(name for reply in replies for name in reply)


def _outbound(hour_ago: datetime) -> tuple[list[dict[str, Any]], int]:
    """Per number: messages queued or sending (its backlog); and the failed sends of the last
    hour across every organization. One query over the schemas of organizations with numbers."""
    schemas = list(
        Organization.objects.filter(phone_numbers__isnull=False)
        .distinct()
        .values_list("schema_name", flat=True)
    )
    present = schemas_with_messages(schemas)
    if not present:
        return [], 0
    with connection.cursor() as cursor:
        parts = [
            "SELECT phone_number_id, "  # noqa: S608 (quoted names read from pg_namespace)
            "count(*) FILTER (WHERE status IN ('queued', 'sending')), "
            "count(*) FILTER (WHERE status = 'failed' AND updated_at >= %s) "
            f"FROM {quote_name(schema)}.whatsapp_whatsappmessage "
            "WHERE status IN ('queued', 'sending') OR (status = 'failed' AND timestamp >= %s) "
            "GROUP BY phone_number_id"
            for schema in present
        ]
        cursor.execute(
            " UNION ALL ".join(parts), [hour_ago, hour_ago - timedelta(days=1)] * len(present)
        )
        rows = cursor.fetchall()
    failed = sum(row[2] for row in rows)
    backlog = {row[0]: row[1] for row in rows if row[1]}
    numbers = PhoneNumber.objects.filter(phone_number_id__in=list(backlog)).select_related(
        "organization"
    )
    client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2)
    try:
        return [
            {
                "number": number,
                "backlog": backlog[number.phone_number_id],
                **_limiter(number, client),
            }
            for number in sorted(numbers, key=lambda n: -backlog[n.phone_number_id])
        ], failed
    finally:
        client.close()


def _limiter(number: PhoneNumber, client: redis.Redis) -> dict[str, Any]:
    """The number's send limiter in Redis: its limit a second, the requests counting in the
    last second's window, and how far ahead its next free slot is (seconds)."""
    limiter = limiter_for_number(
        phone_number_id=number.phone_number_id,
        messages_per_second=number_messages_per_second(number),
    )
    try:
        seconds, micros = client.time()
        now_us = seconds * 1_000_000 + micros
        in_window = client.zcount(limiter.key, now_us - 1_000_000, "+inf")
        pace = int(client.get(limiter.pace_key) or 0)
    except Exception:
        return {"limit": limiter.limit, "in_window": None, "next_slot": None}
    return {
        "limit": limiter.limit,
        "in_window": in_window,
        "next_slot": max(0.0, (pace - now_us) / 1_000_000),
    }


def pipeline_health() -> PipelineHealth:
    now = timezone.now()
    hour_ago = now - timedelta(hours=1)
    health = PipelineHealth(checked_at=now)
    health.queues = _queue_depths()
    health.oldest_pending_change = WebhookChange.objects.filter(
        state=WebhookChange.State.PENDING
    ).aggregate(t=Min("created_at"))["t"]
    health.oldest_received_event = RawWebhookEvent.objects.filter(
        state=RawWebhookEvent.State.RECEIVED
    ).aggregate(t=Min("received_at"))["t"]
    last = (
        WebhookChange.objects.filter(state=WebhookChange.State.PROCESSED)
        .order_by("-id")
        .values_list("processed_at", flat=True)
        .first()
    )
    health.last_processed_at = last
    health.workers = _workers()
    health.webhook_workers = webhook_workers_alive()
    health.backlog, health.failed_sends_hour = _outbound(hour_ago)
    # Changes received in the last hour that failed (a failure leaves `processed_at` empty).
    health.failed_changes_hour = WebhookChange.objects.filter(
        state=WebhookChange.State.FAILED, created_at__gte=hour_ago
    ).count()
    health.halted_tokens = list(
        Credential.objects.filter(state=Credential.State.INVALID)
        .select_related("organization")
        .order_by("-updated_at")[:50]
    )
    return health
