"""Drop a signed-in session that does not belong to the host's organization."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest, HttpResponse

from tenants.access import current_tenant, user_may_access


class TenantMembershipMiddleware:
    """A session cookie is per host, but a session row is global: re-check access per request."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and not user_may_access(user, current_tenant(request))
        ):
            request.user = AnonymousUser()
        return self.get_response(request)
