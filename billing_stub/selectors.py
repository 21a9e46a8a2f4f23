"""Read side of billing: an organization's plan, usage and invoices, for the API, the web app
and the staff console (which calls these with any organization; they switch schemas as needed).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.db.models import QuerySet, Sum

from billing_stub.models import Invoice, Plan, Subscription, UsageCounter
from billing_stub.periods import Period, period_of
from billing_stub.quota import LIMITS, PERIOD_METRICS, gauge_used
from billing_stub.rates import edition_on
from tenants.models import Organization

# The share of a limit at which the web app starts warning.
SOFT_WARNING_SHARE = Decimal("0.8")
LIMIT_LABELS = {
    "connected_numbers": "Connected numbers",
    "members": "Members (with open invitations)",
    "contacts": "Contacts",
    "outbound_messages_per_month": "Messages sent this month",
    "campaigns_per_month": "Campaigns started this month",
    "api_requests_per_minute": "API requests per minute",
}


@dataclass(frozen=True)
class LimitUsage:
    """One limit: `used` of `allowed` (None = unlimited); `resets_at` for period limits."""

    limit: str
    label: str
    used: int
    allowed: int | None
    resets_at: dt.datetime | None

    @property
    def share(self) -> Decimal | None:
        if not self.allowed:
            return None
        return Decimal(self.used) / Decimal(self.allowed)

    @property
    def percent(self) -> int | None:
        share = self.share
        return None if share is None else min(int(share * 100), 100)

    @property
    def warning(self) -> bool:
        share = self.share
        return share is not None and share >= SOFT_WARNING_SHARE


@dataclass(frozen=True)
class UsageSummary:
    """The current period of an organization: limits, Meta's charges, a daily series."""

    organization: Organization
    subscription: Subscription
    period: Period
    limits: tuple[LimitUsage, ...]
    meta_currency: str
    meta_by_category: dict[str, dict[str, Decimal | int]]
    meta_total: Decimal
    days: tuple[dt.date, ...] = ()
    series: dict[str, tuple[int, ...]] = field(default_factory=dict)


def plan_list() -> QuerySet[Plan]:
    """Every plan, cheapest first."""
    return Plan.objects.all()


def subscription_of(*, organization: Organization) -> Subscription:
    """The organization's subscription with its plan (a trial is started if it has none)."""
    from billing_stub.services.subscriptions import subscription_for

    return subscription_for(organization_id=organization.pk)


def meta_costs(
    *, organization: Organization, first_day: dt.date, last_day: dt.date
) -> dict[str, dict[str, Decimal | int]]:
    """`{category: {"messages": n, "charged": n, "cost": Decimal}}` of the messages Meta priced
    between the two local days (inclusive); `charged` excludes the free types."""
    rows = (
        UsageCounter.objects.filter(
            organization=organization,
            metric="meta_messages",
            day__gte=first_day,
            day__lte=last_day,
        )
        .values("dimension")
        .annotate(quantity=Sum("quantity"), cost=Sum("cost"))
    )
    result: dict[str, dict[str, Decimal | int]] = {}
    for row in rows:
        category = row["dimension"].split("/")[0]
        entry = result.setdefault(category, {"messages": 0, "charged": 0, "cost": Decimal(0)})
        entry["messages"] += row["quantity"]
        if row["cost"]:
            entry["charged"] += row["quantity"]
        entry["cost"] += row["cost"] or Decimal(0)
    return dict(sorted(result.items()))


def daily_series(
    *, organization: Organization, first_day: dt.date, last_day: dt.date
) -> tuple[tuple[dt.date, ...], dict[str, tuple[int, ...]]]:
    """Each local day from first to last, and per metric its quantity on each day."""
    days = tuple(first_day + dt.timedelta(days=n) for n in range((last_day - first_day).days + 1))
    totals: dict[str, dict[dt.date, int]] = defaultdict(dict)
    for row in (
        UsageCounter.objects.filter(
            organization=organization, day__gte=first_day, day__lte=last_day
        )
        .values("metric", "day")
        .annotate(quantity=Sum("quantity"))
    ):
        totals[row["metric"]][row["day"]] = row["quantity"]
    metrics = ("outbound_messages", "inbound_messages", "meta_messages")
    return days, {m: tuple(totals[m].get(day, 0) for day in days) for m in metrics}


def limit_usages(
    *, organization: Organization, plan: Plan, period: Period
) -> tuple[LimitUsage, ...]:
    """Every limit of `plan` with the organization's use of it in `period` (now for the
    current counts)."""
    period_totals = dict(
        UsageCounter.objects.filter(
            organization=organization,
            metric__in=PERIOD_METRICS.values(),
            day__gte=period.first_day,
            day__lte=period.last_day,
        )
        .values_list("metric")
        .annotate(total=Sum("quantity"))
    )
    limits = []
    for limit in LIMITS:
        if limit in PERIOD_METRICS:
            used, resets = int(period_totals.get(PERIOD_METRICS[limit]) or 0), period.end
        elif limit == "api_requests_per_minute":
            used, resets = 0, None  # a per-minute window in Redis, not a period's usage
        else:
            used, resets = gauge_used(organization=organization, limit=limit), None
        limits.append(LimitUsage(limit, LIMIT_LABELS[limit], used, plan.limit(limit), resets))
    return tuple(limits)


def usage_summary(*, organization: Organization, at: dt.datetime | None = None) -> UsageSummary:
    """The organization's current period (the one holding `at`, default now)."""
    subscription = subscription_of(organization=organization)
    period = period_of(time_zone=organization.time_zone, at=at)
    costs = meta_costs(
        organization=organization, first_day=period.first_day, last_day=period.last_day
    )
    days, series = daily_series(
        organization=organization, first_day=period.first_day, last_day=period.last_day
    )
    return UsageSummary(
        organization=organization,
        subscription=subscription,
        period=period,
        limits=limit_usages(organization=organization, plan=subscription.plan, period=period),
        meta_currency=edition_on(period.first_day).currency,
        meta_by_category=costs,
        meta_total=sum((c["cost"] for c in costs.values()), Decimal(0)),
        days=days,
        series=series,
    )


def usage_notices(*, organization: Organization) -> list[str]:
    """Plain sentences for the web app's banner: limits at 80 % or more of the plan, and a
    past-due payment. Cheap enough for every page: current counts and period sums only.
    Empty while BILLING_ENFORCEMENT is off (nothing would be refused)."""
    if not getattr(settings, "BILLING_ENFORCEMENT", True):
        return []
    subscription = subscription_of(organization=organization)
    notices = []
    if subscription.status == Subscription.Status.PAST_DUE:
        notices.append(
            "A payment is past due: sending stops after the grace period. Receiving goes on."
        )
    elif subscription.status == Subscription.Status.CANCELLED:
        notices.append("The subscription is cancelled: messages are not sent.")
    period = period_of(time_zone=organization.time_zone)
    for usage in limit_usages(organization=organization, plan=subscription.plan, period=period):
        if usage.warning:
            notices.append(
                f"{usage.label}: {usage.used} of {usage.allowed} used "
                f"({usage.percent}% of the {subscription.plan.name} plan)."
            )
    return notices


def invoice_list(*, organization: Organization) -> QuerySet[Invoice]:
    """The organization's invoices, newest period first, with their lines."""
    return Invoice.objects.filter(organization=organization).prefetch_related("lines")
