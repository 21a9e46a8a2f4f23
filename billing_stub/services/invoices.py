"""Closing periods: one invoice per organization per period, charged through the payment
provider; a failed charge makes the subscription past due.

Amounts are Decimal throughout: each line's amount is rounded once to the currency's cents
(half up) and the total is the exact sum of the lines. Meta's pass-through is an estimate
(billing_stub.rates) by pricing category, from the period's metered messages.
"""

from __future__ import annotations

import datetime as dt
import logging
from decimal import ROUND_HALF_UP, Decimal

from django.db import transaction
from django.utils import timezone

from billing_stub.errors import BillingError
from billing_stub.models import Invoice, InvoiceLine, Plan, Subscription
from billing_stub.payments import ChargeResult, payment_provider
from billing_stub.periods import Period, period_of
from billing_stub.quota import period_used
from billing_stub.rates import edition_on
from billing_stub.selectors import meta_costs
from billing_stub.services.subscriptions import (
    subscription_mark_paid,
    subscription_mark_past_due,
)

logger = logging.getLogger(__name__)
CENT = Decimal("0.01")
MICRO = Decimal("0.000001")


def _money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def invoice_lines(*, subscription: Subscription, plan: Plan, period: Period) -> list[InvoiceLine]:
    """The unsaved lines of the period's invoice: the plan fee, the overage (plans with an
    overage price, messages past the quota) and Meta's pass-through per category.
    Raises BillingError when the rate table's currency is not the plan's."""
    organization = subscription.organization
    lines = [
        InvoiceLine(
            kind=InvoiceLine.Kind.PLAN_FEE,
            description=f"{plan.name} plan, {period.first_day:%B %Y}",
            quantity=1,
            unit_amount=plan.price,
            amount=_money(plan.price),
        )
    ]
    quota = plan.outbound_messages_per_month
    if plan.overage_unit_price is not None and quota is not None:
        sent = period_used(
            organization=organization, limit="outbound_messages_per_month", at=period.start
        )
        if sent > quota:
            lines.append(
                InvoiceLine(
                    kind=InvoiceLine.Kind.OVERAGE,
                    description=f"Messages beyond the {quota} included",
                    quantity=sent - quota,
                    unit_amount=plan.overage_unit_price,
                    amount=_money(plan.overage_unit_price * (sent - quota)),
                )
            )
    costs = meta_costs(
        organization=organization, first_day=period.first_day, last_day=period.last_day
    )
    if costs and edition_on(period.first_day).currency != plan.currency:
        raise BillingError(
            f"Meta's rates are in {edition_on(period.first_day).currency}, the plan in "
            f"{plan.currency}: add a rate table in {plan.currency}."
        )
    for category, cost in costs.items():
        if not cost["cost"]:
            continue
        lines.append(
            InvoiceLine(
                kind=InvoiceLine.Kind.META,
                category=category,
                description=f"Meta {category} messages (estimate)",
                quantity=int(cost["charged"]),
                unit_amount=(cost["cost"] / cost["charged"]).quantize(MICRO),
                amount=_money(cost["cost"]),
            )
        )
    return lines


@transaction.atomic
def invoice_issue(*, subscription: Subscription, period: Period) -> Invoice:
    """The organization's invoice for `period`, created once (a second call returns it)."""
    organization = subscription.organization
    existing = Invoice.objects.filter(
        organization=organization, period_start=period.first_day
    ).first()
    if existing is not None:
        return existing
    plan = subscription.plan
    lines = invoice_lines(subscription=subscription, plan=plan, period=period)
    invoice = Invoice.objects.create(
        organization=organization,
        number=f"INV-{organization.pk:05d}-{period.first_day:%Y%m}",
        period_start=period.first_day,
        period_end=period.last_day,
        plan_code=plan.code,
        currency=plan.currency,
        total=sum((line.amount for line in lines), Decimal("0.00")),
    )
    for line in lines:
        line.invoice = invoice
    InvoiceLine.objects.bulk_create(lines)
    logger.info("invoice issued: org=%s number=%s", organization.slug, invoice.number)
    return invoice


@transaction.atomic
def subscription_period_close(*, subscription_id: int, now: dt.datetime | None = None) -> list[int]:
    """Issue the invoices of every period of the subscription that ended by `now` (default
    now) and move it to the period holding `now`; a trial whose time is over becomes active.
    Returns the invoice ids issued. Idempotent."""
    now = now or timezone.now()
    subscription = (
        Subscription.objects.select_for_update(of=("self",))
        .select_related("plan", "organization")
        .get(pk=subscription_id)
    )
    organization = subscription.organization
    issued = []
    while subscription.current_period_end <= now:
        period = period_of(time_zone=organization.time_zone, at=subscription.current_period_start)
        issued.append(invoice_issue(subscription=subscription, period=period).pk)
        following = period_of(time_zone=organization.time_zone, at=period.end)
        subscription.current_period_start = following.start
        subscription.current_period_end = following.end
    if (
        subscription.status == Subscription.Status.TRIALING
        and subscription.trial_ends_at is not None
        and subscription.trial_ends_at <= now
    ):
        subscription.status = Subscription.Status.ACTIVE
    subscription.save()
    return issued


def subscriptions_due(*, now: dt.datetime | None = None) -> list[int]:
    """Ids of the subscriptions whose current period has ended."""
    return list(
        Subscription.objects.filter(current_period_end__lte=now or timezone.now())
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def invoice_charge(*, invoice_id: int) -> Invoice:
    """Charge an open invoice through the payment provider (a zero total is paid at once).
    Succeeded: paid (a past-due subscription is active again). Failed: the invoice fails and
    the subscription is past due. Pending: a payment webhook settles it later."""
    invoice = Invoice.objects.select_related("organization").get(pk=invoice_id)
    if invoice.status != Invoice.Status.OPEN or invoice.provider_reference:
        return invoice
    if invoice.total == 0:
        return _settle(invoice, ChargeResult(status="succeeded", reference=""))
    provider = payment_provider()
    subscription = Subscription.objects.get(organization=invoice.organization)
    if not subscription.provider_customer_id:
        subscription.provider_customer_id = provider.customer_create(
            organization=invoice.organization
        )
        subscription.save(update_fields=["provider_customer_id", "updated_at"])
    result = provider.invoice_charge(invoice=invoice, customer_id=subscription.provider_customer_id)
    return _settle(invoice, result)


@transaction.atomic
def _settle(invoice: Invoice, result: ChargeResult) -> Invoice:
    invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
    subscription = Subscription.objects.select_for_update().get(
        organization_id=invoice.organization_id
    )
    invoice.provider_reference = result.reference or invoice.provider_reference
    if result.status == "succeeded":
        invoice.status = Invoice.Status.PAID
        invoice.settled_at = timezone.now()
        subscription_mark_paid(subscription=subscription)
    elif result.status == "failed":
        invoice.status = Invoice.Status.FAILED
        invoice.failure_reason = result.failure_reason[:255]
        invoice.settled_at = timezone.now()
        subscription_mark_past_due(
            subscription=subscription, reason=f"invoice {invoice.number}: {result.failure_reason}"
        )
    invoice.save()
    logger.info("invoice %s: %s", invoice.number, invoice.status)
    return invoice


def payment_result_apply(*, reference: str, status: str, failure_reason: str = "") -> Invoice:
    """Apply a payment webhook's result to the invoice charged with `reference`. A result for
    an invoice already settled is ignored (webhooks repeat). Raises BillingError if unknown."""
    invoice = Invoice.objects.filter(provider_reference=reference).first()
    if invoice is None:
        raise BillingError("No invoice was charged with this reference.")
    if invoice.status != Invoice.Status.OPEN:
        return invoice
    return _settle(
        invoice, ChargeResult(status=status, reference=reference, failure_reason=failure_reason)
    )
