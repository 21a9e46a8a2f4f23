"""Org admins list, create and revoke their organization's API keys (JWT only: a key cannot
mint or revoke keys)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.generics import ListAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from tenants.access import current_tenant
from tenants.api_keys import (
    ApiKeyNotFoundError,
    api_key_create,
    api_key_list,
    api_key_revoke,
)
from tenants.models import ApiKey
from tenants.permissions import IsOrgAdmin


class ApiKeySerializer(serializers.ModelSerializer):
    created_by = serializers.SlugRelatedField(slug_field="email", read_only=True)

    class Meta:
        model = ApiKey
        fields = ["id", "name", "prefix", "created_by", "created_at", "last_used_at", "revoked_at"]
        read_only_fields = fields


class ApiKeyCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100, allow_blank=False, trim_whitespace=True)


class ApiKeyCreatedSerializer(ApiKeySerializer):
    key = serializers.CharField(read_only=True, help_text="Shown once: store it now.")

    class Meta(ApiKeySerializer.Meta):
        fields = [*ApiKeySerializer.Meta.fields, "key"]
        read_only_fields = fields


@extend_schema(tags=["api keys"])
class ApiKeyListCreateView(ListAPIView):
    """The organization's API keys (revoked ones included), newest first."""

    permission_classes = [IsOrgAdmin]
    serializer_class = ApiKeySerializer
    queryset = ApiKey.objects.none()  # for the schema; get_queryset scopes to the host's org
    ordering_options = {"-id": ("-id",)}
    default_ordering = "-id"

    def get_queryset(self) -> QuerySet[ApiKey]:
        return api_key_list(organization=current_tenant(request=self.request))

    @extend_schema(operation_id="api_keys_list")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        request=ApiKeyCreateSerializer,
        responses={201: ApiKeyCreatedSerializer},
        operation_id="api_keys_create",
    )
    def post(self, request: Request) -> Response:
        payload = ApiKeyCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        api_key, key = api_key_create(
            organization=current_tenant(request),
            name=payload.validated_data["name"],
            created_by=request.user,
        )
        api_key.key = key  # attached for this one response only
        return Response(ApiKeyCreatedSerializer(api_key).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=["api keys"])
class ApiKeyRevokeView(APIView):
    permission_classes = [IsOrgAdmin]

    @extend_schema(request=None, responses=ApiKeySerializer, operation_id="api_keys_revoke")
    def post(self, request: Request, pk: int) -> Response:
        try:
            api_key = api_key_revoke(organization=current_tenant(request), api_key_id=pk)
        except ApiKeyNotFoundError as exc:
            raise NotFound("No such API key.", code="not_found") from exc
        return Response(ApiKeySerializer(api_key).data)
