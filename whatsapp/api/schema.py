"""OpenAPI (drf-spectacular): the one error shape on every operation, and the security schemes
of the two authentication classes (defined in SPECTACULAR_SETTINGS, mapped here)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from rest_framework import serializers


class ErrorBodySerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Stable machine code, e.g. `not_authenticated`.")
    message = serializers.CharField()
    fields = serializers.DictField(
        child=serializers.JSONField(), required=False, help_text="Per-field messages."
    )
    # `quota_exceeded` (billing_stub.quota): which plan limit, how much of it is used.
    limit = serializers.CharField(required=False, help_text="`quota_exceeded`: the plan limit.")
    used = serializers.IntegerField(required=False)
    allowed = serializers.IntegerField(required=False)
    resets_at = serializers.DateTimeField(
        required=False, allow_null=True, help_text="When a period limit resets (else null)."
    )


class ErrorSerializer(serializers.Serializer):
    error = ErrorBodySerializer()


# Documented on every operation: whatever the endpoint, a client may meet these (429: the
# plan's API requests per minute).
ERROR_STATUSES = ("400", "401", "403", "404", "429")
# Writes may also meet a domain error's conflict (outside the customer window, sending halted:
# whatsapp.errors / whatsapp.api.exceptions) or a plan limit (402: quota_exceeded,
# payment_past_due).
WRITE_ERROR_STATUSES = ("402", "409")


class ApiAutoSchema(AutoSchema):
    def _get_response_bodies(self, direction: str = "response") -> dict[str, Any]:
        responses = super()._get_response_bodies(direction)
        codes = ERROR_STATUSES
        if self.method in ("POST", "PUT", "PATCH", "DELETE"):
            codes = (*codes, *WRITE_ERROR_STATUSES)
        for code in codes:
            if code not in responses:
                responses[code] = self._get_response_for_code(ErrorSerializer, code)
        return responses


def _scheme(name: str) -> dict[str, Any]:
    return settings.SPECTACULAR_SETTINGS["APPEND_COMPONENTS"]["securitySchemes"][name]


class TenantJWTScheme(OpenApiAuthenticationExtension):
    target_class = "tenants.api_auth.TenantJWTAuthentication"
    name = "jwtAuth"

    def get_security_definition(self, auto_schema: AutoSchema) -> dict[str, Any]:
        return _scheme(self.name)


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "tenants.api_keys.ApiKeyAuthentication"
    name = "apiKeyAuth"

    def get_security_definition(self, auto_schema: AutoSchema) -> dict[str, Any]:
        return _scheme(self.name)


def postprocess_path_ids(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """Path ids are matched by Django's `<int:...>` converter, which takes digits only: say so,
    so that clients (and the fuzzer) do not send negative ids to a route that cannot exist."""
    for path_item in result.get("paths", {}).values():
        for operation in path_item.values():
            for parameter in operation.get("parameters", []):
                schema = parameter.get("schema", {})
                if parameter.get("in") == "path" and schema.get("type") == "integer":
                    schema.setdefault("minimum", 0)
    return result
