"""Prometheus metrics: the product's own (below), django-prometheus' request metrics, and
`/metrics`, which only the scraper may read.

Counters and histograms are updated where things happen (the webhook view, the webhook worker,
the send pool's answers, the limiter). Under gunicorn and in Celery's prefork pool, several
processes update them: with `PROMETHEUS_MULTIPROC_DIR` set (platform/gunicorn_conf.py sets it and
cleans it up), each process writes its values to files there and `/metrics` sums them
(prometheus_client's multiprocess mode). Levels that live in PostgreSQL or Redis (queue depths,
changes by state, token expiry) are read when `/metrics` is scraped (`StateCollector`), so they
are right whichever process answers.

Names (all prefixed `whatsapp_`):
- `webhook_requests_total{outcome}`: POSTs to the shared webhook by answer (accepted,
  invalid_signature, too_large, bad_request, unavailable);
- `webhook_ack_seconds`: time from request to answer of the webhook POST;
- `webhook_ingest_lag_seconds`: time from a webhook's acknowledgement to its change applied;
- `webhook_changes{state}`, `webhook_events{state}`: webhook changes / raw events (the outbox) by
  state, read at scrape time;
- `celery_queue_length{queue}`: messages waiting in each Celery queue (Redis), at scrape time;
- `sends_total{outcome,error_code}`: answers to sends (accepted, retry, deferred, failed,
  unconfirmed) with Meta's error code ("" when none);
- `rate_limiter_wait_seconds`: how far ahead a send slot was reserved;
  `rate_limiter_refusals_total`: reservations refused (the number was busy beyond max_wait);
- `token_days_to_expiry{organization}`: days left on each organization's Meta token;
- `campaign_progress{campaign,state}`: messages of a campaign by state (fed by campaigns).
"""

from __future__ import annotations

import ipaddress
import logging
import os
import secrets
from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
    start_http_server,
)
from prometheus_client.core import GaugeMetricFamily

logger = logging.getLogger(__name__)

_FAST = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_LAG = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0)

WEBHOOK_REQUESTS = Counter("whatsapp_webhook_requests", "Webhook POSTs by answer.", ["outcome"])
WEBHOOK_ACK_SECONDS = Histogram(
    "whatsapp_webhook_ack_seconds", "Webhook POST: request to answer.", buckets=_FAST
)
WEBHOOK_INGEST_LAG_SECONDS = Histogram(
    "whatsapp_webhook_ingest_lag_seconds",
    "Webhook change: acknowledgement to applied.",
    buckets=_LAG,
)
SENDS = Counter(
    "whatsapp_sends", "Answers to sends, by outcome and Meta error code.", ["outcome", "error_code"]
)
RATE_LIMITER_WAIT_SECONDS = Histogram(
    "whatsapp_rate_limiter_wait_seconds", "Send slot reserved this far ahead.", buckets=_FAST
)
RATE_LIMITER_REFUSALS = Counter(
    "whatsapp_rate_limiter_refusals", "Slot reservations refused (number busy beyond max wait)."
)
# A later campaign feature sets it: campaign_progress.labels(campaign=id, state=s).set(n).
CAMPAIGN_PROGRESS = Gauge(
    "whatsapp_campaign_progress",
    "Messages of a campaign by state.",
    ["campaign", "state"],
    multiprocess_mode="mostrecent",
)


def webhook_answered(*, outcome: str, seconds: float) -> None:
    WEBHOOK_REQUESTS.labels(outcome=outcome).inc()
    WEBHOOK_ACK_SECONDS.observe(seconds)


def ingest_lags_observe(lags: Iterator[float] | list[float]) -> None:
    for lag in lags:
        WEBHOOK_INGEST_LAG_SECONDS.observe(max(0.0, float(lag)))


def send_answered(*, outcome: str, error_code: int | None) -> None:
    SENDS.labels(outcome=outcome, error_code="" if error_code is None else str(error_code)).inc()


def limiter_waits_observe(*, waits: list[float], refused: bool) -> None:
    if refused:
        RATE_LIMITER_REFUSALS.inc()
    for wait in waits:
        RATE_LIMITER_WAIT_SECONDS.observe(max(0.0, wait))


class StateCollector:
    """Levels read at scrape time from PostgreSQL (public schema) and Redis."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        yield from self._database()
        yield from self._queues()

    def _database(self) -> Iterator[GaugeMetricFamily]:
        from django.db import connection
        from django.utils import timezone

        from tenants.models import RawWebhookEvent, WebhookChange, WhatsAppCredential

        changes = GaugeMetricFamily(
            "whatsapp_webhook_changes", "Webhook changes by state.", labels=["state"]
        )
        events = GaugeMetricFamily(
            "whatsapp_webhook_events", "Raw webhook events (the outbox) by state.", labels=["state"]
        )
        expiry = GaugeMetricFamily(
            "whatsapp_token_days_to_expiry",
            "Days until each organization's Meta access token expires.",
            labels=["organization"],
        )
        try:
            connection.set_schema_to_public()
            for model, family in ((WebhookChange, changes), (RawWebhookEvent, events)):
                counts = dict(model.objects.order_by().values_list("state").annotate(n=_count()))
                for state in model.State.values:
                    family.add_metric([state], counts.get(state, 0))
            now = timezone.now()
            for slug, expires_at in WhatsAppCredential.objects.filter(
                expires_at__isnull=False
            ).values_list("organization__slug", "expires_at"):
                expiry.add_metric([slug], (expires_at - now).total_seconds() / 86400)
        except Exception:  # a scrape must answer even while the database is away
            logger.warning("metrics: database levels unavailable", exc_info=True)
            return
        yield from (changes, events, expiry)

    def _queues(self) -> Iterator[GaugeMetricFamily]:
        import redis

        family = GaugeMetricFamily(
            "whatsapp_celery_queue_length",
            "Messages waiting in each Celery queue.",
            labels=["queue"],
        )
        try:
            client = redis.Redis.from_url(settings.CELERY_BROKER_URL, socket_timeout=2)
            try:
                for queue in settings.CELERY_TASK_QUEUES:
                    family.add_metric([queue.name], client.llen(queue.name))
            finally:
                client.close()
        except Exception:
            logger.warning("metrics: queue lengths unavailable", exc_info=True)
            return
        yield family


def _count() -> Any:
    from django.db.models import Count

    return Count("*")


_STATE = StateCollector()


def metrics_registry(*, levels: bool = True) -> CollectorRegistry:
    """What `/metrics` exposes: every process' values (multiprocess mode) or this one's, plus
    the scrape-time levels (`levels`)."""
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(_Delegate(REGISTRY))
    if levels:
        registry.register(_STATE)
    return registry


def worker_metrics_serve() -> int | None:
    """In a worker process (Celery, webhook worker): serve this process' counters over HTTP on
    METRICS_WORKER_PORT (bound to METRICS_WORKER_ADDRESS, loopback unless set; no
    authentication, so only on a pod/internal network), for Prometheus to scrape beside the web
    tier's `/metrics`. The database/Redis levels stay with the web tier. Returns the port, or
    None when no port is set (the default)."""
    port = int(settings.METRICS_WORKER_PORT or 0)
    if not port:
        return None
    start_http_server(
        port, addr=settings.METRICS_WORKER_ADDRESS, registry=metrics_registry(levels=False)
    )
    logger.info("worker metrics on %s:%s/metrics", settings.METRICS_WORKER_ADDRESS, port)
    return port


class _Delegate:
    """The process' default registry as one collector of another registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry

    def collect(self) -> Iterator[Any]:
        return self.registry.collect()


def _client_allowed(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    for network in settings.METRICS_ALLOWED_NETWORKS:
        try:
            if ip in ipaddress.ip_network(network, strict=False):
                return True
        except ValueError:
            logger.warning("METRICS_ALLOWED_NETWORKS: %r is not a network", network)
    return False


def metrics_view(request: HttpRequest) -> HttpResponse:
    """`GET /metrics`: Prometheus' text format, for the scraper only.

    Allowed: `Authorization: Bearer <METRICS_TOKEN>` (compared in constant time), or a client
    address (REMOTE_ADDR, the peer, never a forwarded header) inside METRICS_ALLOWED_NETWORKS.
    No credentials: 401 with `WWW-Authenticate: Bearer`; wrong credentials: 403.
    """
    token = settings.METRICS_TOKEN
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, presented = header.partition(" ")
    if header and not (
        token
        and scheme.lower() == "bearer"
        and secrets.compare_digest(presented.strip().encode(), token.encode())
    ):
        return HttpResponse("forbidden\n", status=403, content_type="text/plain")
    if not header and not _client_allowed(request.META.get("REMOTE_ADDR", "")):
        response = HttpResponse("authentication required\n", status=401, content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(generate_latest(metrics_registry()), content_type=CONTENT_TYPE_LATEST)
