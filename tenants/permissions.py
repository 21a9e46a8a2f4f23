"""DRF permissions tied to the host's organization."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from tenants.access import current_tenant
from tenants.models import Membership, Organization


class IsOrgAdmin(BasePermission):
    """A person (session or JWT) who is an admin of the active organization whose host was called.

    Refused (403, never 500) for anyone else: an API key acts for the organization, not for a
    person, so it is never its admin (`request.user` is then an `ApiKeyUser`, not a database
    user); an anonymous or deactivated user; a call on the public host; a suspended organization.
    """

    message = "Only an administrator of this organization may do this."

    def has_permission(self, request: Request, view: object) -> bool:
        user = request.user
        if not isinstance(user, get_user_model()) or not user.is_authenticated:
            return False
        if not user.is_active:
            return False
        tenant = current_tenant(request)
        if not isinstance(tenant, Organization) or tenant.is_public or not tenant.is_active:
            return False
        return Membership.objects.filter(
            user=user, organization=tenant, role=Membership.Role.ADMIN
        ).exists()
