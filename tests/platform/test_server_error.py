"""Unhandled errors: 503 + Retry-After while the database is unreachable (Meta and clients
retry), Django's plain 500 otherwise. The outage is faked at the tenant middleware's host lookup
(the first database call of every request); benchmarks/chaos.py shows it with a real restart."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.db import OperationalError
from django.test import Client

from tenants.middleware import CachedTenantMainMiddleware


@pytest.fixture
def failing_host_lookup(monkeypatch):
    def fail_with(exc: Exception) -> None:
        def get_tenant(self, domain_model, hostname):
            raise exc

        monkeypatch.setattr(CachedTenantMainMiddleware, "get_tenant", get_tenant)

    return fail_with


@pytest.mark.django_db
def test_a_database_outage_answers_503_with_retry_after(failing_host_lookup, org_a):
    failing_host_lookup(OperationalError("connection refused"))
    for host in (settings.BASE_DOMAIN, org_a.host):
        client = Client(HTTP_HOST=host, raise_request_exception=False)
        response = client.post("/webhooks/whatsapp/", b"{}", content_type="application/json")
        assert response.status_code == 503
        assert response["Retry-After"] == "5"


@pytest.mark.django_db
def test_other_errors_stay_500(failing_host_lookup):
    failing_host_lookup(RuntimeError("a bug"))
    client = Client(HTTP_HOST=settings.BASE_DOMAIN, raise_request_exception=False)
    assert client.get("/login/").status_code == 500
