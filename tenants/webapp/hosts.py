"""Absolute addresses of the public host and of an organization's host, as the browser sees
them (same scheme and port as the current request: `make run` serves every host on one port)."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest

from tenants.services.onboarding import tenant_host


def _origin(request: HttpRequest, host: str) -> str:
    port = request.get_port()
    default = "443" if request.is_secure() else "80"
    if port and port != default:
        host = f"{host}:{port}"
    return f"{request.scheme}://{host}"


def public_origin(request: HttpRequest) -> str:
    """`http://localhost:8000` for the public host (BASE_DOMAIN)."""
    return _origin(request, settings.BASE_DOMAIN)


def org_origin(request: HttpRequest, slug: str) -> str:
    """`http://acme.localhost:8000` for the organization `slug`."""
    return _origin(request, tenant_host(slug))
