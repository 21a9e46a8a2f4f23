"""`billing_notice` on every page of an organization's app: the 80 % soft warning (and the
past-due notice), computed for signed-in members only."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest


def billing(request: HttpRequest) -> dict[str, Any]:
    tenant = getattr(request, "tenant", None)
    user = getattr(request, "user", None)
    if tenant is None or getattr(tenant, "is_public", True) or not user:
        return {}
    if not user.is_authenticated:
        return {}
    from billing_stub.selectors import usage_notices

    return {"billing_notices": usage_notices(organization=tenant)}
