"""Metering: usage counted per organization per local day, in the transaction of the event.

Each call is one `INSERT ... ON CONFLICT DO UPDATE` adding to billing_stub.models.UsageCounter:
concurrent writers add up (the row lock of the upsert serializes them), and a count written in
the event's own transaction disappears with it if the event rolls back, so nothing is counted
that was not stored. Callers count only what they actually inserted (a redelivered webhook's
message is not inserted twice, so it is not counted twice).

Metrics: `outbound_messages` (messages created to send; the quota's count),
`inbound_messages` (messages received and stored), `campaigns_started`, and `meta_messages`
(messages Meta priced, from the first status webhook carrying a `pricing` block, dimension
`category/type/market`, with the estimated charge in `cost`; billing_stub.rates).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection
from django.utils import timezone

from billing_stub.models import UsageCounter
from billing_stub.periods import local_day
from billing_stub.rates import market_of, meta_rate
from tenants.models import Organization

METRICS = ("outbound_messages", "inbound_messages", "campaigns_started", "meta_messages")


@dataclass(frozen=True)
class PricedMessage:
    """An outgoing message Meta priced: its recipient (wa_id digits or a BSUID), the status
    webhook's `pricing.category` and `pricing.type`, and when (the receipt's timestamp)."""

    recipient: str
    category: str
    pricing_type: str
    at: dt.datetime


def _organization(organization_id: int | None) -> Organization:
    """The organization `organization_id`, or (None) the one whose schema the connection is in."""
    tenant = getattr(connection, "tenant", None)
    if isinstance(tenant, Organization) and organization_id in (None, tenant.pk):
        return tenant
    if organization_id is None:
        return Organization.objects.get(schema_name=connection.schema_name)
    return Organization.objects.get(pk=organization_id)


def _upsert(organization: Organization, rows: Iterable[tuple[dt.date, str, str, int, Decimal]]):
    merged: dict[tuple[dt.date, str, str], list] = defaultdict(lambda: [0, Decimal(0)])
    for day, metric, dimension, quantity, cost in rows:
        if metric not in METRICS:
            raise ValueError(f"unknown metric {metric!r}")
        merged[(day, metric, dimension)][0] += quantity
        merged[(day, metric, dimension)][1] += cost
    if not merged:
        return
    keys = sorted(merged)  # one order for every writer: upserts of a batch never deadlock
    table = UsageCounter._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO public.{table} "  # noqa: S608 (our table name)
            "(organization_id, day, metric, dimension, quantity, cost) "
            "SELECT %s, * FROM unnest(%s::date[], %s::text[], %s::text[], %s::bigint[], "
            "%s::numeric[]) "
            "ON CONFLICT (organization_id, metric, day, dimension) DO UPDATE SET "
            f"quantity = {table}.quantity + EXCLUDED.quantity, "
            f"cost = {table}.cost + EXCLUDED.cost",
            [
                organization.pk,
                [k[0] for k in keys],
                [k[1] for k in keys],
                [k[2] for k in keys],
                [merged[k][0] for k in keys],
                [merged[k][1] for k in keys],
            ],
        )


def usage_record(
    *,
    organization: Organization | None = None,
    organization_id: int | None = None,
    metric: str,
    quantity: int = 1,
    dimension: str = "",
    at: dt.datetime | None = None,
) -> None:
    """Add `quantity` of `metric` on the organization's local day of `at` (default now).
    The organization: `organization`, else `organization_id`, else the connection's schema.
    Call inside the transaction that stores what is counted. Raises ValueError for an
    unknown metric."""
    if quantity <= 0:
        return
    organization = organization or _organization(organization_id)
    day = local_day(time_zone=organization.time_zone, at=at)
    _upsert(organization, [(day, metric, dimension, quantity, Decimal(0))])


def meta_pricing_record(
    *, messages: Iterable[PricedMessage], organization_id: int | None = None
) -> None:
    """Count messages Meta priced (`meta_messages` by category/type/market) with their
    estimated charge (billing_stub.rates, the edition of the receipt's day). Call once per
    message, when its first `pricing` block is stored, in that transaction. The organization:
    `organization_id`, else the connection's schema."""
    messages = list(messages)
    if not messages:
        return
    organization = _organization(organization_id)
    rows = []
    for message in messages:
        market = market_of(message.recipient)
        category = message.category or "unknown"
        pricing_type = message.pricing_type or "regular"
        at = message.at or timezone.now()
        rows.append(
            (
                local_day(time_zone=organization.time_zone, at=at),
                "meta_messages",
                f"{category}/{pricing_type}/{market}"[:96],
                1,
                meta_rate(at=at, country=market, category=category, pricing_type=pricing_type),
            )
        )
    _upsert(organization, rows)
