"""One error shape for the whole API: {"error": {"code", "message", "fields"?}}."""

from __future__ import annotations

from typing import Any

from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from tenants.errors import CredentialInvalidError, CredentialMissingError
from whatsapp.errors import WhatsAppDomainError


def _first_message(detail: Any) -> str:
    if isinstance(detail, dict):
        for value in detail.values():
            return _first_message(value)
    if isinstance(detail, list) and detail:
        return _first_message(detail[0])
    return str(detail)


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, WhatsAppDomainError):
        body: dict[str, Any] = {"code": exc.code, "message": exc.message}
        if exc.field:
            body["fields"] = {exc.field: [exc.message]}
        return Response({"error": body}, status=exc.http_status)
    if isinstance(exc, CredentialInvalidError | CredentialMissingError):
        return Response(
            {"error": {"code": "sending_halted", "message": str(exc)}},
            status=status.HTTP_409_CONFLICT,
        )
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        fields = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        response.data = {
            "error": {
                "code": "invalid",
                "message": _first_message(exc.detail),
                "fields": fields,
            }
        }
    elif isinstance(exc, exceptions.APIException | Http404):
        detail = getattr(exc, "detail", "Not found.")
        code = detail.code if hasattr(detail, "code") else "not_found"
        response.data = {"error": {"code": str(code), "message": _first_message(detail)}}
    return response
