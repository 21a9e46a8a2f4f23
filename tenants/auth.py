"""Password authentication bound to the host: a member of org A cannot sign in on org B."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import AbstractBaseUser
from django.http import HttpRequest

from tenants.access import current_tenant, user_may_access
from tenants.models import Organization


def attempt_username(request: HttpRequest | None, credentials: dict[str, Any]) -> str:
    """The name sign-in attempts are counted under (django-axes' AXES_USERNAME_CALLABLE): the
    email as the backend reads it, so `Ann@X.org ` and `ann@x.org` share one count."""
    return str(credentials.get("username") or "").strip().lower()


class TenantMembershipBackend(ModelBackend):
    """Password sign-in on a host: its organization's members (staff on the public host).

    `portal_lookup=True` is the public host's "find my organizations" step: it accepts a
    member of any active organization there too, to send them on to their organization's host
    (tenants.services.handoff); no session is started on the public host for them.
    """

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        portal_lookup: bool = False,
        **kwargs: Any,
    ) -> AbstractBaseUser | None:
        if username:
            username = username.strip().lower()
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is None:
            return None
        tenant = current_tenant(request)
        if user_may_access(user, tenant):
            return user
        on_public_host = tenant is None or tenant.is_public
        if portal_lookup and on_public_host and user.is_active:
            member_somewhere = Organization.objects.filter(
                memberships__user=user, status=Organization.Status.ACTIVE
            ).exists()
            return user if member_somewhere else None
        return None
