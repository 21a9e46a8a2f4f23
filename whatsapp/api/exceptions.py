"""One error shape for the whole API: {"error": {"code", "message", "fields"?}}.

Plan limits (billing_stub.quota) add their particulars to it: `{"error": {"code":
"quota_exceeded", "message", "limit", "used", "allowed", "resets_at"}}` with HTTP 402 Payment
Required (the remedy is a bigger plan, not retrying), except `api_requests_per_minute`: 429 Too
Many Requests with `Retry-After` (retrying next minute works). A past-due subscription's
refused send: `{"error": {"code": "payment_past_due", ...}}`, 402.
"""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views.defaults import page_not_found
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from billing_stub.quota import QuotaExceeded
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
    if isinstance(exc, QuotaExceeded):  # PaymentPastDue too
        return _plan_refusal(exc)
    if isinstance(exc, WhatsAppDomainError):
        body: dict[str, Any] = {"code": exc.code, "message": exc.message}
        # A domain error may name several fields (`fields`: {field: [messages]}), else one.
        fields = getattr(exc, "fields", None) or ({exc.field: [exc.message]} if exc.field else {})
        if fields:
            body["fields"] = fields
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
    elif isinstance(exc, exceptions.APIException):
        response.data = {"error": {"code": _code_of(exc), "message": _message_of(exc.detail)}}
    elif isinstance(exc, Http404):
        response.data = {"error": {"code": "not_found", "message": "Not found."}}
    return response


def _plan_refusal(exc: QuotaExceeded) -> Response:
    if isinstance(exc, QuotaExceeded) and exc.limit == "api_requests_per_minute":
        response = Response({"error": exc.as_error()}, status=status.HTTP_429_TOO_MANY_REQUESTS)
        response["Retry-After"] = str(max(int(getattr(exc, "retry_after", 60)), 1))
        return response
    return Response({"error": exc.as_error()}, status=status.HTTP_402_PAYMENT_REQUIRED)


def _code_of(exc: exceptions.APIException) -> str:
    """The machine code: the detail's own (simplejwt nests it in a dict), else the default."""
    detail = exc.detail
    if isinstance(detail, dict) and detail.get("code"):
        return str(detail["code"])
    return str(getattr(detail, "code", None) or exc.default_code)


def _message_of(detail: Any) -> str:
    if isinstance(detail, dict) and "detail" in detail:
        return str(detail["detail"])
    return _first_message(detail)


def api_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """404 for any host: the API's JSON error shape under /api/, Django's page elsewhere."""
    if request.path.startswith("/api/"):
        return JsonResponse(
            {"error": {"code": "not_found", "message": "No such endpoint."}}, status=404
        )
    return page_not_found(request, exception)
