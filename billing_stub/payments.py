"""The payment provider interface, and the stub provider that stands in for a real one.

A real provider (Stripe, Adyen, ...) implements `PaymentProvider` and is named in settings
BILLING_PAYMENT_PROVIDER; nothing else changes. The stub charges nothing: its answer to a
charge is settings BILLING_STUB_OUTCOME (`succeeded`, `failed`, or `pending`, settled later by
a payment webhook), so tests choose the outcome. Its webhook is signed like a real provider's
(HMAC-SHA256 of the body with the project's secret, header `X-Stub-Signature`).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string

from billing_stub.errors import PaymentProviderError
from billing_stub.models import Invoice
from tenants.models import Organization

OUTCOMES = ("succeeded", "failed", "pending")


@dataclass(frozen=True)
class ChargeResult:
    """A charge's answer: `status` one of OUTCOMES, the provider's `reference`, and why it
    failed (user-facing, e.g. "card declined")."""

    status: str
    reference: str
    failure_reason: str = ""


@dataclass(frozen=True)
class PaymentEvent:
    """A provider webhook's news about a charge (`reference`): succeeded or failed."""

    reference: str
    status: str
    failure_reason: str = ""


class PaymentProvider(Protocol):
    """What billing needs from a payment provider."""

    name: str

    def customer_create(self, *, organization: Organization) -> str:
        """Register the organization; returns the provider's customer id."""
        ...

    def invoice_charge(self, *, invoice: Invoice, customer_id: str) -> ChargeResult:
        """Charge the invoice's total in its currency to the customer."""
        ...

    def webhook_parse(self, *, body: bytes, headers: Mapping[str, str]) -> PaymentEvent:
        """Verify and read a payment webhook; raises PaymentProviderError when it is not
        authentic or not understood."""
        ...


def stub_signature(body: bytes) -> str:
    return hmac.new(settings.SECRET_KEY.encode(), body, hashlib.sha256).hexdigest()


class StubPaymentProvider:
    """Charges nothing; answers with settings BILLING_STUB_OUTCOME."""

    name = "stub"

    def customer_create(self, *, organization: Organization) -> str:
        return f"stub_cus_{organization.org_id.hex[:16]}"

    def invoice_charge(self, *, invoice: Invoice, customer_id: str) -> ChargeResult:
        outcome = settings.BILLING_STUB_OUTCOME
        if outcome not in OUTCOMES:
            raise PaymentProviderError(f"BILLING_STUB_OUTCOME must be one of {OUTCOMES}")
        reason = "The stub provider declined the charge." if outcome == "failed" else ""
        return ChargeResult(
            status=outcome, reference=f"stub_ch_{invoice.number}", failure_reason=reason
        )

    def webhook_parse(self, *, body: bytes, headers: Mapping[str, str]) -> PaymentEvent:
        given = headers.get("X-Stub-Signature", "")
        if not hmac.compare_digest(given, stub_signature(body)):
            raise PaymentProviderError("bad signature")
        try:
            data = json.loads(body)
            event = PaymentEvent(
                reference=str(data["reference"]),
                status=str(data["status"]),
                failure_reason=str(data.get("failure_reason") or ""),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise PaymentProviderError("not a payment event") from exc
        if event.status not in ("succeeded", "failed"):
            raise PaymentProviderError("unknown status")
        return event


def payment_provider() -> PaymentProvider:
    """The provider named in settings BILLING_PAYMENT_PROVIDER."""
    return import_string(settings.BILLING_PAYMENT_PROVIDER)()
