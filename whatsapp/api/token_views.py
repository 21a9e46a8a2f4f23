"""An org admin hands over a short-lived Meta token; the platform keeps a long-lived one."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import api_view, permission_classes
from rest_framework.request import Request
from rest_framework.response import Response

from tenants.access import current_tenant
from tenants.permissions import IsOrgAdmin
from whatsapp.graph.errors import GraphError
from whatsapp.services.meta_access import access_token_exchange


class TokenExchangeRequest(serializers.Serializer):
    short_lived_token = serializers.CharField(
        write_only=True, trim_whitespace=True, min_length=10, max_length=1024
    )


class TokenExchangeResponse(serializers.Serializer):
    state = serializers.CharField()
    fingerprint = serializers.CharField(help_text="Identifies the stored token; not the token")
    expires_at = serializers.DateTimeField(allow_null=True)


@extend_schema(request=TokenExchangeRequest, responses={201: TokenExchangeResponse})
@api_view(["POST"])
@permission_classes([IsOrgAdmin])
def generate_long_lived_token_view(request: Request) -> Response:
    """Exchange a short-lived token for a long-lived one and store it encrypted.

    The response says whether it worked and when the new token expires; it never contains it.
    """
    payload = TokenExchangeRequest(data=request.data)
    payload.is_valid(raise_exception=True)
    try:
        credential = access_token_exchange(
            organization=current_tenant(request),
            short_lived_token=payload.validated_data["short_lived_token"],
        )
    except GraphError as exc:
        return Response(
            {
                "error": {
                    "code": "token_exchange_failed",
                    "message": f"Meta refused the token (error {exc.code}): {exc.message}",
                }
            },
            status=status.HTTP_400_BAD_REQUEST,
        )
    body = TokenExchangeResponse(
        {
            "state": credential.state,
            "fingerprint": credential.fingerprint,
            "expires_at": credential.expires_at,
        }
    ).data
    return Response(body, status=status.HTTP_201_CREATED)
