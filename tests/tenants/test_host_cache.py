"""The tenant middleware's host -> organization cache: fast, bounded, never wrong for long.

Most tests call the middleware as Django does (`process_request` on a request with a Host
header, through real PostgreSQL rows); a change made by another process is simulated by an
`UPDATE` that sends no signal, and the TTL is stepped past by swapping the module's clock.
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.http import Http404, HttpResponse
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext

from tenants import middleware
from tenants.middleware import CachedTenantMainMiddleware, host_cache
from tenants.models import Domain, Organization
from tests.clients import admin_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def now(monkeypatch, settings):
    """The cache on (the test settings turn it off) with its production TTL, and a
    controllable clock: `now.t += seconds`."""
    settings.TENANT_HOST_CACHE_SECONDS = 5.0

    class Clock:
        t = 1000.0

        def __call__(self) -> float:
            return self.t

    clock = Clock()
    monkeypatch.setattr(middleware, "clock", clock)
    return clock


def _resolve(host: str) -> Organization:
    request = RequestFactory().get("/healthz", HTTP_HOST=host)
    CachedTenantMainMiddleware(lambda r: HttpResponse()).process_request(request)
    return request.tenant


def test_a_host_is_looked_up_once_then_served_from_the_cache(org_a, now) -> None:
    with CaptureQueriesContext(connection) as first:
        assert _resolve(org_a.host).pk == org_a.organization.pk
    with CaptureQueriesContext(connection) as second:
        tenant = _resolve(org_a.host)
    assert any("tenants_domain" in q["sql"] for q in first.captured_queries)
    assert not any("tenants_domain" in q["sql"] for q in second.captured_queries)
    assert tenant.pk == org_a.organization.pk
    assert tenant.schema_name == org_a.schema


def test_hosts_never_resolve_to_each_others_org(org_a, org_b, now) -> None:
    for _ in range(3):
        assert _resolve(org_a.host).pk == org_a.organization.pk
        assert _resolve(org_b.host).pk == org_b.organization.pk
        assert _resolve("localhost").schema_name == "public"


def test_each_request_gets_its_own_instance(org_a, now) -> None:
    first = _resolve(org_a.host)
    first.name = "changed by a request"
    assert _resolve(org_a.host).name == org_a.organization.name


def test_unknown_host_is_404_and_not_cached(org_a, now) -> None:
    with pytest.raises(Http404):
        _resolve("nobody.localhost")
    # (health probes answer on any host: tests/platform/test_health_any_host.py)
    assert Client(HTTP_HOST="nobody.localhost").get("/api/v1/messages/").status_code == 404
    # A host added afterwards (by any process: nothing negative was cached) works at once.
    Domain.objects.bulk_create(  # bulk_create sends no signal either
        [Domain(domain="nobody.localhost", tenant=org_a.organization, is_primary=False)]
    )
    assert _resolve("nobody.localhost").pk == org_a.organization.pk


def test_a_change_in_this_process_is_seen_at_once(org_a, org_b, now) -> None:
    assert _resolve(org_a.host).pk == org_a.organization.pk
    # A's host is moved to B: never served as A's again, not even for a moment.
    domain = Domain.objects.get(domain=org_a.host)
    domain.tenant = org_b.organization
    domain.save()
    assert _resolve(org_a.host).pk == org_b.organization.pk
    organization = Organization.objects.get(pk=org_b.organization.pk)
    organization.status = Organization.Status.SUSPENDED
    organization.save()
    assert not _resolve(org_a.host).is_active


def test_a_change_by_another_process_is_seen_within_the_ttl(org_a, org_b, now) -> None:
    assert _resolve(org_a.host).is_active
    # Another web worker suspends A and moves its host to B: no signal reaches this process.
    Organization.objects.filter(pk=org_a.organization.pk).update(
        status=Organization.Status.SUSPENDED, name="Renamed"
    )
    Domain.objects.filter(domain=org_a.host).update(tenant=org_b.organization)
    now.t += 4.9
    assert _resolve(org_a.host).pk == org_a.organization.pk  # still cached: within the TTL
    now.t += 0.2
    tenant = _resolve(org_a.host)
    assert tenant.pk == org_b.organization.pk


def test_suspension_by_another_process_is_enforced_within_the_ttl(org_a, now) -> None:
    """Through HTTP: a JWT (checked against the host's org) stops working within the TTL."""
    client = admin_client(org_a)
    assert client.get("/api/v1/messages/").status_code == 200
    Organization.objects.filter(pk=org_a.organization.pk).update(
        status=Organization.Status.SUSPENDED
    )
    now.t += 4.9
    assert client.get("/api/v1/messages/").status_code == 200  # the window this cache allows
    now.t += 0.2
    assert client.get("/api/v1/messages/").status_code == 401


def test_the_cache_is_bounded_and_can_be_turned_off(org_a, org_b, now, settings) -> None:
    settings.TENANT_HOST_CACHE_MAX_ENTRIES = 2
    for host in (org_a.host, org_b.host, "localhost"):
        _resolve(host)
    assert len(host_cache) == 2
    host_cache.clear()
    settings.TENANT_HOST_CACHE_SECONDS = 0
    _resolve(org_a.host)
    assert len(host_cache) == 0


def _current_schema() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_schema()")
        return cursor.fetchone()[0]


def test_the_connection_follows_the_host_and_skips_an_unchanged_search_path(
    org_a, org_b, now
) -> None:
    _resolve(org_a.host)
    assert _current_schema() == org_a.schema
    with CaptureQueriesContext(connection) as again:
        _resolve(org_a.host)
        assert _current_schema() == org_a.schema
    assert not any("search_path" in q["sql"] for q in again.captured_queries)
    _resolve(org_b.host)
    assert _current_schema() == org_b.schema
    _resolve("localhost")
    assert _current_schema() == "public"
    _resolve(org_a.host)
    assert _current_schema() == org_a.schema
    # A rollback reverts a SET made in its transaction: django-tenants forgets it, so the next
    # request sets it again rather than trusting it.
    connection.search_path_set_schemas = None
    with CaptureQueriesContext(connection) as after_reset:
        _resolve(org_a.host)
        assert _current_schema() == org_a.schema
    assert any("search_path" in q["sql"] for q in after_reset.captured_queries)
