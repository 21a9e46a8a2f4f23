"""Domain errors of billing (the quota errors live in billing_stub.quota, the contract)."""

from __future__ import annotations


class BillingError(Exception):
    """A billing request that cannot be done as asked (message is user-facing)."""


class PaymentProviderError(Exception):
    """The payment provider could not be reached or refused the request itself."""
