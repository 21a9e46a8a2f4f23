"""Billing in the public schema: plans, one subscription per organization, usage counters,
invoices with line items. Amounts are Decimal (NUMERIC columns), never floats."""

from __future__ import annotations

from django.db import models

from tenants.models import Organization

MONEY = {"max_digits": 14, "decimal_places": 2}
# Meta's per-message rates have four decimals; counters keep six so sums stay exact.
RATE = {"max_digits": 16, "decimal_places": 6}


class Plan(models.Model):
    """What an organization may use and what it costs per period (a calendar month).

    A limit left empty (NULL) is unlimited. `overage_unit_price` set: outbound messages past
    `outbound_messages_per_month` are sent and billed at that price each instead of refused.
    Seeded: free, starter, pro (migration 0002); staff edit them (billing_stub.services.plans).
    """

    code = models.SlugField(max_length=32, unique=True)
    name = models.CharField(max_length=64)
    price = models.DecimalField(**MONEY, default=0)
    currency = models.CharField(max_length=3, default="USD", help_text="ISO 4217")
    connected_numbers = models.PositiveIntegerField(null=True, blank=True)
    members = models.PositiveIntegerField(null=True, blank=True)
    contacts = models.PositiveIntegerField(null=True, blank=True)
    outbound_messages_per_month = models.PositiveIntegerField(null=True, blank=True)
    campaigns_per_month = models.PositiveIntegerField(null=True, blank=True)
    api_requests_per_minute = models.PositiveIntegerField(null=True, blank=True)
    overage_unit_price = models.DecimalField(**RATE, null=True, blank=True)
    is_public = models.BooleanField(default=True, help_text="Offered to new organizations")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["price", "code"]

    def __str__(self) -> str:
        return f"{self.name} ({self.price} {self.currency})"

    def limit(self, name: str) -> int | None:
        """The value of limit `name` (one of billing_stub.quota.LIMITS); None is unlimited."""
        return getattr(self, name)


class Subscription(models.Model):
    """An organization's plan and billing state. Exactly one per organization.

    Periods are the organization's calendar months in its time zone
    (billing_stub.periods); `current_period_*` is the one being metered, moved on by the
    period-close beat after its invoice is issued. `past_due_since` is set by a failed charge;
    outbound sends are refused once BILLING_PAST_DUE_GRACE_DAYS have passed since.
    """

    class Status(models.TextChoices):
        TRIALING = "trialing", "Trialing"
        ACTIVE = "active", "Active"
        PAST_DUE = "past_due", "Past due"
        CANCELLED = "cancelled", "Cancelled"

    organization = models.OneToOneField(
        Organization, on_delete=models.CASCADE, related_name="subscription"
    )
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="subscriptions")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.TRIALING)
    current_period_start = models.DateTimeField()
    current_period_end = models.DateTimeField(db_index=True)
    trial_ends_at = models.DateTimeField(null=True, blank=True)
    past_due_since = models.DateTimeField(null=True, blank=True)
    provider_customer_id = models.CharField(max_length=128, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.organization_id} on {self.plan_id} ({self.status})"


class UsageCounter(models.Model):
    """How much of `metric` an organization used on one day (its local calendar day).

    Written only by `INSERT ... ON CONFLICT DO UPDATE` (billing_stub.services.metering) in the
    transaction of the event it counts, so a rolled-back event leaves no count and concurrent
    writers add up. A period's usage is the sum of its days. `dimension` splits a metric (Meta
    pricing: `category/type/country`); `cost` is the estimated Meta charge (rate table currency).
    """

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    metric = models.CharField(max_length=48)
    dimension = models.CharField(max_length=96, blank=True, default="")
    quantity = models.BigIntegerField(default=0)
    cost = models.DecimalField(**RATE, default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "metric", "day", "dimension"], name="uniq_usage_counter"
            )
        ]

    def __str__(self) -> str:
        return f"{self.organization_id} {self.day} {self.metric} {self.dimension}={self.quantity}"


class Invoice(models.Model):
    """The bill of one organization for one closed period, in the plan's currency."""

    class Status(models.TextChoices):
        OPEN = "open", "Open (charge pending)"
        PAID = "paid", "Paid"
        FAILED = "failed", "Charge failed"

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="invoices"
    )
    number = models.CharField(max_length=32, unique=True)
    period_start = models.DateField(help_text="First local day of the period")
    period_end = models.DateField(help_text="Last local day of the period")
    plan_code = models.CharField(max_length=32)
    currency = models.CharField(max_length=3)
    total = models.DecimalField(**MONEY)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    provider_reference = models.CharField(max_length=128, blank=True)
    failure_reason = models.CharField(max_length=255, blank=True)
    issued_at = models.DateTimeField(auto_now_add=True)
    settled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-period_start", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "period_start"], name="uniq_invoice_period"
            )
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.total} {self.currency} ({self.status})"


class InvoiceLine(models.Model):
    """One line: the plan fee, message overage, or Meta's pass-through for one category."""

    class Kind(models.TextChoices):
        PLAN_FEE = "plan_fee", "Plan fee"
        OVERAGE = "overage", "Overage"
        META = "meta_passthrough", "Meta pass-through (estimate)"

    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")
    kind = models.CharField(max_length=24, choices=Kind.choices)
    description = models.CharField(max_length=200)
    category = models.CharField(max_length=48, blank=True)
    quantity = models.BigIntegerField()
    unit_amount = models.DecimalField(**RATE)
    amount = models.DecimalField(**MONEY)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.description}: {self.amount}"
