"""Invoices at period end: line items and totals in exact decimals, issued once per period
(in the organization's time zone), charged through the stub provider whose outcome the test
chooses; a failed charge makes the subscription past due, a later payment webhook settles."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from billing_stub.models import Invoice, Subscription
from billing_stub.payments import stub_signature
from billing_stub.periods import period_of
from billing_stub.services.invoices import invoice_charge, subscription_period_close
from billing_stub.services.metering import PricedMessage, meta_pricing_record, usage_record
from tenants.models import AuditEntry, Organization

from .conftest import plan_with, put_on

pytestmark = pytest.mark.django_db
TOKYO = ZoneInfo("Asia/Tokyo")
OCTOBER = dt.datetime(2026, 10, 1, tzinfo=TOKYO)


def october_in_tokyo(org, plan) -> Subscription:
    """`org` in Tokyo, on `plan`, its current period October 2026 (ended)."""
    Organization.objects.filter(pk=org.organization.pk).update(time_zone="Asia/Tokyo")
    period = period_of(time_zone="Asia/Tokyo", at=OCTOBER)
    return put_on(
        org,
        plan,
        status="active",
        current_period_start=period.start,
        current_period_end=period.end,
    )


def october_usage(org) -> None:
    organization = Organization.objects.get(pk=org.organization.pk)
    at = dt.datetime(2026, 10, 15, 12, tzinfo=TOKYO)
    usage_record(organization=organization, metric="outbound_messages", quantity=10, at=at)
    # The last minute of October in Tokyo is October; the next one is November's.
    last = dt.datetime(2026, 10, 31, 23, 59, tzinfo=TOKYO)
    usage_record(organization=organization, metric="outbound_messages", quantity=1, at=last)
    usage_record(
        organization=organization,
        metric="outbound_messages",
        quantity=50,
        at=OCTOBER.replace(month=11),
    )
    priced = [PricedMessage("447700900123", "marketing", "regular", at) for _ in range(3)]
    priced += [PricedMessage("14155552671", "utility", "regular", at) for _ in range(7)]
    priced += [PricedMessage("14155552671", "service", "free_entry_point", at)]
    meta_pricing_record(organization_id=organization.pk, messages=priced)


def test_the_invoice_has_exact_lines_and_total(org_a) -> None:
    plan = plan_with(
        "pro-like",
        price=Decimal("199.00"),
        outbound_messages_per_month=3,
        overage_unit_price=Decimal("0.005"),
    )
    subscription = october_in_tokyo(org_a, plan)
    october_usage(org_a)
    issued = subscription_period_close(
        subscription_id=subscription.pk, now=dt.datetime(2026, 11, 1, 0, 30, tzinfo=TOKYO)
    )
    invoice = Invoice.objects.get(pk=issued[0])
    lines = [
        (line.kind, line.category, line.quantity, line.unit_amount, line.amount)
        for line in invoice.lines.all()
    ]
    assert lines == [
        ("plan_fee", "", 1, Decimal("199.000000"), Decimal("199.00")),
        # 11 sent in October (Tokyo), 3 included: 8 x 0.005 = 0.04
        ("overage", "", 8, Decimal("0.005000"), Decimal("0.04")),
        # 3 x 0.0529 (GB) = 0.1587 -> 0.16; 7 x 0.0040 (US) = 0.028 -> 0.03; entry point free
        ("meta_passthrough", "marketing", 3, Decimal("0.052900"), Decimal("0.16")),
        ("meta_passthrough", "utility", 7, Decimal("0.004000"), Decimal("0.03")),
    ]
    assert invoice.total == Decimal("199.23")
    assert (invoice.period_start, invoice.period_end) == (
        dt.date(2026, 10, 1),
        dt.date(2026, 10, 31),
    )
    assert invoice.currency == "USD"


def test_closing_a_period_issues_once_and_moves_to_the_next(org_a, settings) -> None:
    settings.BILLING_STUB_OUTCOME = "succeeded"
    subscription = october_in_tokyo(org_a, plan_with(price=Decimal("10.00")))
    now = dt.datetime(2026, 11, 2, tzinfo=TOKYO)
    first = subscription_period_close(subscription_id=subscription.pk, now=now)
    again = subscription_period_close(subscription_id=subscription.pk, now=now)
    assert len(first) == 1 and again == []
    subscription.refresh_from_db()
    assert subscription.current_period_start == dt.datetime(2026, 11, 1, tzinfo=TOKYO)
    assert subscription.current_period_end == dt.datetime(2026, 12, 1, tzinfo=TOKYO)
    invoice = invoice_charge(invoice_id=first[0])
    assert invoice.status == Invoice.Status.PAID
    assert invoice.provider_reference == f"stub_ch_{invoice.number}"
    assert Invoice.objects.filter(organization=org_a.organization).count() == 1


def test_a_failed_charge_makes_the_subscription_past_due(org_a, settings) -> None:
    settings.BILLING_STUB_OUTCOME = "failed"
    subscription = october_in_tokyo(org_a, plan_with(price=Decimal("10.00")))
    issued = subscription_period_close(
        subscription_id=subscription.pk, now=dt.datetime(2026, 11, 2, tzinfo=TOKYO)
    )
    invoice = invoice_charge(invoice_id=issued[0])
    assert invoice.status == Invoice.Status.FAILED
    assert invoice.failure_reason == "The stub provider declined the charge."
    subscription.refresh_from_db()
    assert subscription.status == Subscription.Status.PAST_DUE
    assert subscription.past_due_since is not None
    assert AuditEntry.objects.filter(
        action="billing.past_due", org_id=org_a.organization.org_id
    ).exists()


def test_a_pending_charge_is_settled_by_the_signed_payment_webhook(
    org_a, settings, public_client
) -> None:
    settings.BILLING_STUB_OUTCOME = "pending"
    subscription = october_in_tokyo(org_a, plan_with(price=Decimal("10.00")))
    Subscription.objects.filter(pk=subscription.pk).update(
        status="past_due", past_due_since=OCTOBER
    )
    issued = subscription_period_close(
        subscription_id=subscription.pk, now=dt.datetime(2026, 11, 2, tzinfo=TOKYO)
    )
    invoice = invoice_charge(invoice_id=issued[0])
    assert invoice.status == Invoice.Status.OPEN
    body = json.dumps({"reference": invoice.provider_reference, "status": "succeeded"}).encode()
    forged = public_client.post(
        "/billing/webhooks/payments/",
        body,
        content_type="application/json",
        headers={"X-Stub-Signature": "0" * 64},
    )
    assert forged.status_code == 400
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.OPEN
    paid = public_client.post(
        "/billing/webhooks/payments/",
        body,
        content_type="application/json",
        headers={"X-Stub-Signature": stub_signature(body)},
    )
    assert paid.status_code == 200, paid.content
    invoice.refresh_from_db()
    subscription.refresh_from_db()
    assert invoice.status == Invoice.Status.PAID
    assert subscription.status == Subscription.Status.ACTIVE  # paid up again


def test_a_free_plan_invoice_of_zero_is_paid_without_a_charge(org_a, settings) -> None:
    settings.BILLING_STUB_OUTCOME = "failed"  # would fail if it were charged
    subscription = october_in_tokyo(org_a, plan_with(price=Decimal("0.00")))
    issued = subscription_period_close(
        subscription_id=subscription.pk, now=dt.datetime(2026, 11, 2, tzinfo=TOKYO)
    )
    invoice = invoice_charge(invoice_id=issued[0])
    assert (invoice.total, invoice.status, invoice.provider_reference) == (
        Decimal("0.00"),
        Invoice.Status.PAID,
        "",
    )
