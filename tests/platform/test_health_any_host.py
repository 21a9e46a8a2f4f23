"""Health probes answer on any Host (Kubernetes sends the pod IP); nothing else does.

tenants.health.HealthProbeMiddleware serves exactly GET/HEAD /healthz and /readyz before the host
checks; every other path on a Host outside ALLOWED_HOSTS, or on a host that is no organization's,
still answers 404. The same over real HTTP under gunicorn and production settings is in
test_production_settings.py.
"""

from __future__ import annotations

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

POD_IP_HOST = "10.244.1.7:8000"


def test_probes_answer_when_the_host_is_a_pod_ip() -> None:
    client = Client(HTTP_HOST=POD_IP_HOST)
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": True, "broker": True}
    assert client.head("/healthz").status_code == 200


def test_readiness_on_any_host_still_reports_a_dead_broker(settings) -> None:
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    response = Client(HTTP_HOST=POD_IP_HOST).get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["broker"] is False


@pytest.mark.parametrize(
    "path", ["/admin/", "/signup/", "/webhooks/whatsapp/", "/api/v1/messages/", "/healthz/"]
)
def test_other_paths_keep_the_host_check(path: str) -> None:
    """A Host outside ALLOWED_HOSTS reaches no page, however close to a probe's path."""
    assert Client(HTTP_HOST=POD_IP_HOST).get(path).status_code == 404


def test_only_safe_methods_are_answered_on_any_host() -> None:
    assert Client(HTTP_HOST=POD_IP_HOST).post("/healthz").status_code == 404


def test_unknown_organization_host_still_gets_404_except_probes(org_a) -> None:
    """Tenant routing is untouched: an allowed host that is no organization's serves nothing."""
    client = Client(HTTP_HOST="nobody.localhost")
    assert client.get("/api/v1/messages/").status_code == 404
    assert client.get("/healthz").status_code == 200


def test_probes_bypass_tenant_routing_without_switching_schema(org_a) -> None:
    """On an organization's host the probe answers the same, and leaves no tenant behind."""
    from django.db import connection

    connection.set_schema_to_public()
    assert Client(HTTP_HOST=org_a.host).get("/healthz").json() == {"status": "ok"}
    assert connection.schema_name == "public"
