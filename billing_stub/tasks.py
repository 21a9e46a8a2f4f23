"""Billing work for Celery, in the public schema: thin wrappers over services."""

from __future__ import annotations

from billing_stub.models import Invoice
from billing_stub.services.invoices import (
    invoice_charge,
    subscription_period_close,
    subscriptions_due,
)
from saas_platform.celery import app

__all__ = ["billing_period_close_task", "billing_periods_close_task", "invoice_charge_task"]


@app.task(acks_late=True, soft_time_limit=60, time_limit=90)
def billing_periods_close_task() -> str:
    """Dispatcher (beat, hourly): one closing task per subscription whose period ended, and a
    charge for every open invoice not charged yet (a lost charge task is retried here)."""
    due = subscriptions_due()
    for subscription_id in due:
        billing_period_close_task.delay(subscription_id)
    open_invoices = list(
        Invoice.objects.filter(status=Invoice.Status.OPEN, provider_reference="").values_list(
            "pk", flat=True
        )
    )
    for invoice_id in open_invoices:
        invoice_charge_task.delay(invoice_id)
    return f"closing {len(due)} subscription(s), charging {len(open_invoices)} invoice(s)"


@app.task(acks_late=True, soft_time_limit=120, time_limit=150)
def billing_period_close_task(subscription_id: int) -> str:
    issued = subscription_period_close(subscription_id=subscription_id)
    for invoice_id in issued:
        invoice_charge_task.delay(invoice_id)
    return f"issued {len(issued)} invoice(s)"


@app.task(acks_late=True, soft_time_limit=60, time_limit=90)
def invoice_charge_task(invoice_id: int) -> str:
    return invoice_charge(invoice_id=invoice_id).status
