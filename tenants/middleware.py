"""Request middleware of the tenant registry: pick the host's schema, then drop a signed-in
session that does not belong to the host's organization."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import DisallowedHost
from django.db import connection, transaction
from django.db.models.base import ModelState
from django.db.models.signals import post_delete, post_save
from django.http import HttpRequest, HttpResponse, HttpResponseNotFound
from django_tenants.middleware.main import TenantMainMiddleware
from django_tenants.utils import get_tenant_domain_model

from tenants.access import current_tenant, user_may_access
from tenants.models import Domain, Organization

# Tests swap the clock to step past the TTL without sleeping.
clock: Callable[[], float] = time.monotonic


class TenantHostCache:
    """hostname -> Organization, per process, bounded (LRU) and short-lived.

    Only hosts that exist are cached: an unknown host is looked up every time (and gets 404), so
    a host added by onboarding works at once in every process. A change to any Domain or
    Organization clears this process's cache at once (signals below); other processes (gunicorn
    workers) see it within `TENANT_HOST_CACHE_SECONDS`. Thread-safe (gthread workers).
    """

    def __init__(self) -> None:
        self._entries: OrderedDict[str, tuple[float, Organization]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, hostname: str) -> Organization | None:
        with self._lock:
            entry = self._entries.get(hostname)
            if entry is None:
                return None
            expires_at, tenant = entry
            if clock() >= expires_at:
                del self._entries[hostname]
                return None
            self._entries.move_to_end(hostname)
        # Each request gets its own instance: django-tenants writes `domain_url` on it, and
        # request code may set attributes; the cached one stays as it was loaded.
        return _clone(tenant)

    def put(self, hostname: str, tenant: Organization) -> None:
        ttl = float(getattr(settings, "TENANT_HOST_CACHE_SECONDS", 5.0))
        max_entries = int(getattr(settings, "TENANT_HOST_CACHE_MAX_ENTRIES", 1024))
        if ttl <= 0 or max_entries <= 0:
            return
        with self._lock:
            self._entries[hostname] = (clock() + ttl, _clone(tenant))
            self._entries.move_to_end(hostname)
            while len(self._entries) > max_entries:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


def _clone(tenant: Organization) -> Organization:
    """A shallow copy of a loaded organization with a fresh ModelState (no cached relations).

    What `copy.copy` gives, without the pickle protocol it goes through for a model instance
    (a measurable share of a webhook POST's CPU)."""
    clone = Organization.__new__(Organization)
    clone.__dict__.update(tenant.__dict__)
    state = ModelState()
    state.db, state.adding = tenant._state.db, tenant._state.adding
    clone._state = state
    return clone


host_cache = TenantHostCache()


def _clear_host_cache(**_: Any) -> None:
    # Now, and again at commit: a lookup by another thread between the write and its commit
    # reads (and would cache) the old row.
    host_cache.clear()
    transaction.on_commit(host_cache.clear)


for _model in (Domain, Organization):
    post_save.connect(_clear_host_cache, sender=_model, dispatch_uid=f"host_cache_{_model}_save")
    post_delete.connect(_clear_host_cache, sender=_model, dispatch_uid=f"host_cache_{_model}_del")


class CachedTenantMainMiddleware(TenantMainMiddleware):
    """django-tenants' host -> schema middleware, with the Domain lookup cached per process and
    no `SET search_path` when the connection is already in the host's schema.

    Behaviour is django-tenants' own (`TenantMainMiddleware.process_request`): a disallowed or
    unknown host gets 404, the URL conf is chosen by public vs. tenant, `request.tenant` is the
    host's organization and the connection is in its schema. What it saves per request: the
    Domain join Organization query (~2.5 ms with the ORM) and, when consecutive requests of a
    thread are for the same schema (the webhook's public host, one org's API), the
    `SET search_path` that `connection.set_tenant` re-issues even for an unchanged schema.
    """

    def process_request(self, request: HttpRequest) -> HttpResponse | None:
        try:
            hostname = self.hostname_from_request(request)
        except DisallowedHost:
            return HttpResponseNotFound()
        tenant = host_cache.get(hostname)
        if tenant is None:
            # The Domain table lives in the public schema.
            connection.set_schema_to_public()
            domain_model = get_tenant_domain_model()
            try:
                tenant = self.get_tenant(domain_model, hostname)
            except domain_model.DoesNotExist:
                connection.set_schema_to_public()
                return self.no_tenant_found(request, hostname)
            host_cache.put(hostname, tenant)
            tenant = host_cache.get(hostname) or tenant
        tenant.domain_url = hostname
        request.tenant = tenant
        _connection_use_tenant(tenant)
        self.setup_url_routing(request)
        return None


def _connection_use_tenant(tenant: Organization) -> None:
    """`connection.set_tenant(tenant)`, without invalidating a search_path already in force.

    django-tenants tracks the search_path it last set on this connection
    (`search_path_set_schemas`, with TENANT_LIMIT_SET_CALLS) and forgets it on close, rollback
    and savepoint rollback; `set_tenant` forgets it too, even when the schema is unchanged.
    """
    unchanged = (
        getattr(connection, "search_path_set_schemas", None)
        and connection.schema_name == tenant.schema_name
        and connection.include_public_schema
    )
    if unchanged:
        connection.tenant = tenant
    else:
        connection.set_tenant(tenant)


# The session key naming the schema whose host a session signed in on.
SESSION_HOST_KEY = "_tenant_schema"


def _host_schema(request: HttpRequest | None) -> str:
    tenant = current_tenant(request)
    return tenant.schema_name if tenant is not None else connection.schema_name


def session_bind_to_host(sender: Any, request: HttpRequest | None, **_: Any) -> None:
    """`user_logged_in` receiver: the session is valid on the host it signed in on only.

    A sign-in outside a request that went through the tenant middleware (a test client's
    `force_login`, a shell) is bound by the middleware on the session's first request instead.
    """
    session = getattr(request, "session", None)
    if session is not None and getattr(request, "tenant", None) is not None:
        session[SESSION_HOST_KEY] = _host_schema(request)


class TenantMembershipMiddleware:
    """A session cookie is per host, but a session row is global: re-check access per request.

    Two rules: the user may act on the host (`user_may_access`), and a signed-in session is
    used only on the host it signed in on (a person in orgs A and B whose A cookie is copied to
    B's host is anonymous there), like the API's tokens with their `org_id` claim.

    Only requests carrying a session cookie are checked: the session is the only way a user
    reaches `request.user` in middleware (the API's JWT and API keys authenticate in DRF, per
    view, against the host's organization)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # Without a session cookie the user is anonymous (sessions are the only middleware
        # authentication; the API authenticates in DRF): skip loading the session and user, a
        # cost on every webhook POST and API call.
        if settings.SESSION_COOKIE_NAME not in request.COOKIES:
            return self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            session = getattr(request, "session", None)
            wrong_host = False
            if session is not None and SESSION_KEY in session:
                host = _host_schema(request)
                wrong_host = session.setdefault(SESSION_HOST_KEY, host) != host
            if wrong_host or not user_may_access(user, current_tenant(request)):
                request.user = AnonymousUser()
        return self.get_response(request)
