"""Fixtures of the billing tests: enforcement switched on (the suite's settings meter but do
not refuse), and helpers that put a session organization on a plan with given limits."""

from __future__ import annotations

from decimal import Decimal

import pytest

from billing_stub.models import Plan, Subscription
from billing_stub.services.subscriptions import subscription_for

# The inbound tests' signed poster and connected numbers, for the metering tests.
from tests.inbound.conftest import numbers, webhook  # noqa: F401


@pytest.fixture
def enforced(settings):
    settings.BILLING_ENFORCEMENT = True
    return settings


def plan_with(code: str = "tiny", **limits) -> Plan:
    """A plan `code` (created or updated) with every limit unlimited except `limits`."""
    fields = {
        "name": code.title(),
        "price": Decimal("10.00"),
        "currency": "USD",
        "connected_numbers": None,
        "members": None,
        "contacts": None,
        "outbound_messages_per_month": None,
        "campaigns_per_month": None,
        "api_requests_per_minute": None,
        "overage_unit_price": None,
    }
    plan, _ = Plan.objects.update_or_create(code=code, defaults={**fields, **limits})
    return plan


def put_on(org, plan: Plan, **fields) -> Subscription:
    """Move the session organization `org` to `plan` (no audit: test setup)."""
    subscription = subscription_for(organization_id=org.organization.pk)
    Subscription.objects.filter(pk=subscription.pk).update(plan=plan, **fields)
    return subscription_for(organization_id=org.organization.pk)


@pytest.fixture
def live_billing(live_db, org_a, org_b):
    """Committed rows (`live_db`); afterwards the session orgs are back on the free trial in
    UTC (counters and invoices are emptied by `live_db` itself)."""
    from tenants.models import Organization

    yield
    Organization.objects.filter(pk__in=[org_a.organization.pk, org_b.organization.pk]).update(
        time_zone="UTC"
    )
    free = Plan.objects.get(code="free")
    Subscription.objects.filter(organization__in=[org_a.organization, org_b.organization]).update(
        plan=free, status=Subscription.Status.TRIALING, past_due_since=None
    )


def counted(org, metric: str, **filters) -> int:
    """The organization's total of `metric` over every day."""
    from django.db.models import Sum

    from billing_stub.models import UsageCounter

    total = UsageCounter.objects.filter(
        organization=org.organization, metric=metric, **filters
    ).aggregate(total=Sum("quantity"))["total"]
    return int(total or 0)
