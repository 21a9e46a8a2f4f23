"""The payment provider's webhook on the public host: `POST /billing/webhooks/payments/`."""

from __future__ import annotations

import logging

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from billing_stub.errors import BillingError, PaymentProviderError
from billing_stub.payments import payment_provider
from billing_stub.services.invoices import payment_result_apply

logger = logging.getLogger(__name__)


@csrf_exempt  # a server-to-server call, authenticated by the provider's signature
@require_POST
def payment_webhook(request: HttpRequest) -> HttpResponse:
    try:
        event = payment_provider().webhook_parse(body=request.body, headers=request.headers)
    except PaymentProviderError as exc:
        logger.warning("payment webhook refused: %s", exc)
        return JsonResponse({"error": {"code": "invalid", "message": str(exc)}}, status=400)
    try:
        invoice = payment_result_apply(
            reference=event.reference, status=event.status, failure_reason=event.failure_reason
        )
    except BillingError as exc:
        return JsonResponse({"error": {"code": "not_found", "message": str(exc)}}, status=404)
    return JsonResponse({"invoice": invoice.number, "status": invoice.status})
