"""Prometheus metrics (saas_platform.metrics): `/metrics` answers only the scraper, and the
product's counters move with real traffic (a sandbox webhook through the live server and the
webhook worker, sends through the real Celery worker to the sandbox)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from datetime import timedelta

import httpx
import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from saas_platform.metrics import worker_metrics_serve
from tenants.models import WhatsAppCredential
from tests.conftest import in_tenant, wait_for
from tests.factories import OutgoingMessageFactory
from tests.outbound.conftest import customer, wait_final

METRICS_TOKEN = "metrics-test-token-0123456789"
CUSTOMER = "4915123400088"


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """{(sample name, sorted labels): value} of a Prometheus text exposition."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(text: str, name: str, **labels: str) -> float:
    return samples(text).get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.fixture
def metrics_settings(settings):
    settings.METRICS_TOKEN = METRICS_TOKEN
    settings.METRICS_ALLOWED_NETWORKS = []
    return settings


@pytest.mark.django_db
def test_metrics_need_the_token_or_an_allowed_network(metrics_settings):
    public = Client(HTTP_HOST=settings.BASE_DOMAIN)  # REMOTE_ADDR 127.0.0.1
    anonymous = public.get("/metrics")
    assert anonymous.status_code == 401 and anonymous["WWW-Authenticate"].startswith("Bearer")
    assert public.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 403
    assert public.get("/metrics", HTTP_AUTHORIZATION=f"Basic {METRICS_TOKEN}").status_code == 403
    scraped = public.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {METRICS_TOKEN}")
    assert scraped.status_code == 200
    assert "whatsapp_webhook_requests_total" in scraped.content.decode()
    # A forwarded header does not make a stranger internal: only the peer address counts.
    metrics_settings.METRICS_ALLOWED_NETWORKS = ["10.0.0.0/8"]
    assert public.get("/metrics", HTTP_X_FORWARDED_FOR="10.1.2.3").status_code == 401
    assert public.get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 200
    assert public.get("/metrics", REMOTE_ADDR="192.0.2.1").status_code == 401


@pytest.mark.django_db
def test_an_empty_token_opens_nothing(metrics_settings):
    metrics_settings.METRICS_TOKEN = ""
    public = Client(HTTP_HOST=settings.BASE_DOMAIN)
    assert public.get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 403
    assert public.get("/metrics").status_code == 401


@pytest.mark.django_db
def test_an_organizations_host_does_not_serve_metrics(metrics_settings, org_a):
    tenant = Client(HTTP_HOST=org_a.host)
    assert tenant.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {METRICS_TOKEN}").status_code == 404


@pytest.mark.integration
def test_counters_move_with_real_webhooks_and_sends(
    metrics_settings, platform_server, sender_a, sandbox, celery_worker, webhook_worker
):
    def scrape() -> str:
        response = httpx.get(
            f"{platform_server.url}/metrics",
            headers={"Authorization": f"Bearer {METRICS_TOKEN}"},
            timeout=10,
        )
        assert response.status_code == 200
        return response.text

    WhatsAppCredential.objects.filter(organization=sender_a.org.organization).update(
        expires_at=timezone.now() + timedelta(days=10)
    )
    before = scrape()
    delivered = sandbox.customer_sends_text(sender_a.phone_number_id, CUSTOMER, "hi")
    assert delivered["message"]["id"]
    sandbox.add_fault("error_code", code=131026, count=1, path_regex=r"/messages$")
    contact = customer(sender_a, CUSTOMER, sandbox=sandbox)
    with in_tenant(sender_a.org):
        ids = [
            OutgoingMessageFactory(
                contact=contact, text=f"m{i}", phone_number_id=sender_a.phone_number_id
            ).pk
            for i in range(3)
        ]
    messages = wait_final(sender_a.org, ids)
    assert sorted(m.status for m in messages) == ["accepted", "accepted", "failed"]

    def lag_observed() -> str | None:
        """the webhook's change was applied and its lag observed"""
        text = scrape()
        return (
            text
            if value(text, "whatsapp_webhook_ingest_lag_seconds_count")
            > value(before, "whatsapp_webhook_ingest_lag_seconds_count")
            else None
        )

    after = wait_for(lag_observed)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("whatsapp_webhook_requests_total", outcome="accepted") >= 1
    assert moved("whatsapp_webhook_ack_seconds_count") >= 1
    assert moved("whatsapp_sends_total", outcome="accepted", error_code="") == 2
    assert moved("whatsapp_sends_total", outcome="failed", error_code="131026") == 1
    assert moved("whatsapp_rate_limiter_wait_seconds_count") >= 3
    assert value(after, "whatsapp_webhook_changes", state="processed") >= 1
    assert value(after, "whatsapp_webhook_events", state="received") == 0
    days = value(
        after, "whatsapp_token_days_to_expiry", organization=sender_a.org.organization.slug
    )
    assert 9.9 < days <= 10
    queues = {q.name for q in settings.CELERY_TASK_QUEUES}
    exposed = {
        dict(labels)["queue"]
        for (name, labels) in samples(after)
        if name == "whatsapp_celery_queue_length"
    }
    assert exposed == queues
    # django-prometheus' request metrics are exposed beside ours.
    assert "django_http_requests_total_by_method_total" in after


def test_metrics_of_several_processes_are_summed(tmp_path):
    """Multiprocess mode (gunicorn workers): two processes count, a third exposes the sum."""
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    count = (
        "import django; django.setup(); from saas_platform.metrics import webhook_answered; "
        "webhook_answered(outcome='accepted', seconds=0.01)"
    )
    for _ in range(2):
        subprocess.run([sys.executable, "-c", count], env=env, check=True, timeout=60)
    expose = (
        "import django; django.setup(); from prometheus_client import generate_latest; "
        "from saas_platform.metrics import metrics_registry; "
        "print(generate_latest(metrics_registry()).decode())"
    )
    out = subprocess.run(
        [sys.executable, "-c", expose], env=env, check=True, timeout=60, capture_output=True
    ).stdout.decode()
    assert value(out, "whatsapp_webhook_requests_total", outcome="accepted") == 2
    assert value(out, "whatsapp_webhook_ack_seconds_count") == 2


def test_a_worker_serves_its_own_counters_when_given_a_port(settings):
    """A worker process (here a child process) counts a send and serves it on its port, without
    the database levels (the web tier's /metrics has those)."""
    settings.METRICS_WORKER_PORT = 0
    assert worker_metrics_serve() is None  # off by default
    port = _free_port()
    script = (
        "import django, urllib.request; django.setup(); "
        "from saas_platform.metrics import send_answered, worker_metrics_serve; "
        "port = worker_metrics_serve(); send_answered(outcome='failed', error_code=131026); "
        "print(urllib.request.urlopen(f'http://127.0.0.1:{port}/metrics', timeout=10)"
        ".read().decode())"
    )
    env = {**os.environ, "METRICS_WORKER_PORT": str(port)}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    out = subprocess.run(
        [sys.executable, "-c", script], env=env, check=True, timeout=60, capture_output=True
    ).stdout.decode()
    assert value(out, "whatsapp_sends_total", outcome="failed", error_code="131026") == 1
    assert "whatsapp_webhook_changes" not in out


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
