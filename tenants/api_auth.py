"""JWT for the per-organization API: a token works only on the host of the org it was issued for.

Tokens carry an `org_id` claim. Authentication refuses a token whose claim is not the host's
organization, a suspended organization, and a user who is no longer a member.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions, serializers
from rest_framework.request import Request
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.serializers import TokenObtainPairSerializer, TokenRefreshSerializer
from rest_framework_simplejwt.tokens import RefreshToken

from tenants.access import current_tenant, user_may_access
from tenants.models import Organization

ORG_CLAIM = "org_id"


def _host_org_id(request: Request | None) -> str | None:
    tenant = current_tenant(request)
    if not isinstance(tenant, Organization) or tenant.is_public:
        return None
    return str(tenant.org_id)


class TenantJWTAuthentication(JWTAuthentication):
    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        result = super().authenticate(request)
        if result is None:
            return None
        user, token = result
        host_org_id = _host_org_id(request)
        if host_org_id is None or token.get(ORG_CLAIM) != host_org_id:
            raise exceptions.AuthenticationFailed(
                _("This token was not issued for this organization."), code="wrong_organization"
            )
        if not user_may_access(user, current_tenant(request)):
            raise exceptions.AuthenticationFailed(
                _("This organization is suspended or the user is no longer a member."),
                code="access_revoked",
            )
        return user, token


class OrgTokenObtainPairSerializer(TokenObtainPairSerializer):
    """Email + password for the host's organization, answered with tokens bound to it."""

    def validate(self, attrs: dict[str, Any]) -> dict[str, str]:
        host_org_id = _host_org_id(self.context.get("request"))
        if host_org_id is None:
            raise exceptions.AuthenticationFailed(
                _("API tokens are issued on an organization's host."), code="no_organization"
            )
        super().validate(attrs)  # authenticates through TenantMembershipBackend
        refresh = RefreshToken.for_user(self.user)
        refresh[ORG_CLAIM] = host_org_id
        return {"refresh": str(refresh), "access": str(refresh.access_token)}


class OrgTokenRefreshSerializer(TokenRefreshSerializer):
    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        host_org_id = _host_org_id(self.context.get("request"))
        refresh = self.token_class(attrs["refresh"])
        if host_org_id is None or refresh.get(ORG_CLAIM) != host_org_id:
            raise serializers.ValidationError(
                {"refresh": "This token was not issued for this organization."}
            )
        return super().validate(attrs)
