"""DRF permissions tied to the host's organization."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from tenants.access import current_tenant
from tenants.models import Membership


class IsOrgAdmin(BasePermission):
    """The user is an admin member of the organization whose host was called."""

    message = "Only an administrator of this organization may do this."

    def has_permission(self, request: Request, view: object) -> bool:
        user = request.user
        # API keys act for the organization, not for a person: they are never its admin.
        if not isinstance(user, get_user_model()) or not user.is_authenticated:
            return False
        return Membership.objects.filter(
            user=user, organization=current_tenant(request), role=Membership.Role.ADMIN
        ).exists()
