"""What the console's tenant pages read: the list with its counts, one tenant's page.

The list costs the same few queries whatever the page size: numbers, members, the last webhook
and the token's state are correlated subqueries of one SELECT (each on an index), and the
messages in/out of the page's organizations come from ONE `UNION ALL` over their schemas
(`tenant_message_counts`), never a query per row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.models import Count, F, IntegerField, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django_tenants.utils import schema_context

from tenants.models import (
    AuditEntry,
    Membership,
    Organization,
    OrganizationSuspension,
    PhoneNumber,
    WebhookChange,
    WhatsAppCredential,
)

LOW_QUALITY = ("YELLOW", "RED")


def _count_of(queryset: QuerySet) -> Coalesce:
    counted = (
        queryset.filter(organization=OuterRef("pk"))
        .order_by()
        .values("organization")
        .annotate(n=Count("*"))
        .values("n")
    )
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


def tenant_list(
    *,
    q: str = "",
    status: str = "",
    created_after: date | None = None,
    quiet_days: int | None = None,
    halted: bool = False,
    expiring_days: int | None = None,
    low_quality: bool = False,
    plan: str = "",
) -> QuerySet[Organization]:
    """Organizations (not the public schema) with `numbers`, `members`, `low_quality_numbers`,
    `last_webhook_at`, `token_state` and `token_expires_at` annotated, newest first.

    `q` matches slug, name, a phone number id or display number; `quiet_days`: no webhook
    change for that many days (or never); `expiring_days`: a token expiring within that many
    days; `halted`: the token is invalid (sending halted); `low_quality`: a number below GREEN;
    `plan`: the code of the subscription's plan (billing). Also annotated: `plan_name`,
    `plan_messages` (outbound messages a month, None = unlimited), `subscription_status`.
    """
    now = timezone.now()
    organizations = Organization.objects.exclude(schema_name=settings.PUBLIC_SCHEMA_NAME)
    if q:
        numbers = PhoneNumber.objects.filter(
            Q(phone_number_id=q) | Q(display_number__contains=q.lstrip("+"))
        ).values("organization_id")
        organizations = organizations.filter(
            Q(slug__icontains=q) | Q(name__icontains=q) | Q(pk__in=numbers)
        )
    if status:
        organizations = organizations.filter(status=status)
    if created_after:
        organizations = organizations.filter(created_at__date__gte=created_after)
    if plan:
        organizations = organizations.filter(subscription__plan__code=plan)
    credential = WhatsAppCredential.objects.filter(organization__org_id=OuterRef("org_id"))
    last_webhook = (
        WebhookChange.objects.filter(organization=OuterRef("pk"))
        .order_by("-id")
        .values("created_at")[:1]
    )
    organizations = organizations.annotate(
        numbers=_count_of(PhoneNumber.objects.all()),
        members=_count_of(Membership.objects.all()),
        low_quality_numbers=_count_of(PhoneNumber.objects.filter(quality_rating__in=LOW_QUALITY)),
        last_webhook_at=Subquery(last_webhook),
        token_state=Subquery(credential.values("state")[:1]),
        token_expires_at=Subquery(credential.values("expires_at")[:1]),
        plan_name=F("subscription__plan__name"),
        plan_messages=F("subscription__plan__outbound_messages_per_month"),
        subscription_status=F("subscription__status"),
    )
    if quiet_days:
        organizations = organizations.filter(
            Q(last_webhook_at__isnull=True) | Q(last_webhook_at__lt=now - timedelta(quiet_days))
        )
    if halted:
        organizations = organizations.filter(token_state=WhatsAppCredential.State.INVALID)
    if expiring_days is not None:
        organizations = organizations.filter(
            token_expires_at__lte=now + timedelta(days=expiring_days)
        )
    if low_quality:
        organizations = organizations.filter(low_quality_numbers__gt=0)
    return organizations.order_by("-created_at", "-id")


@dataclass(frozen=True)
class MessageCounts:
    """Messages of one organization: received / sent in the last 24 hours and 30 days."""

    in_24h: int = 0
    out_24h: int = 0
    in_30d: int = 0
    out_30d: int = 0


def schemas_with_messages(schemas: list[str]) -> list[str]:
    """Those of `schemas` that have the messages table (one catalog query): a schema being
    created or dropped may not."""
    if not schemas:
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT n.nspname FROM pg_namespace n JOIN pg_class c ON c.relnamespace = n.oid "
            "WHERE n.nspname = ANY(%s) AND c.relname = 'whatsapp_whatsappmessage'",
            [schemas],
        )
        return [row[0] for row in cursor.fetchall()]


def quote_name(name: str) -> str:
    """A schema name as a quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def tenant_message_counts(*, schemas: list[str]) -> dict[str, MessageCounts]:
    """schema name -> MessageCounts, for the given organizations' schemas, in ONE query (a
    `UNION ALL` of one indexed range scan per schema, on `msg_timestamp_idx`). Schemas without
    the messages table (being created or dropped) are left out.

    Kept CONSOLE_MESSAGE_COUNTS_SECONDS in the process's cache: the first look at a page's 50
    schemas costs a backend loading their catalog entries (~100+ ms), paging back and forth
    should not, and counts a minute old are what a list of organizations needs."""
    ttl = float(getattr(settings, "CONSOLE_MESSAGE_COUNTS_SECONDS", 0))
    if ttl <= 0:
        return _message_counts_query(schemas)
    keys = {f"console:message-counts:{schema}": schema for schema in schemas}
    cached = {keys[key]: value for key, value in cache.get_many(list(keys)).items()}
    missing = [schema for schema in schemas if schema not in cached]
    fresh = _message_counts_query(missing) if missing else {}
    if fresh:
        cache.set_many({f"console:message-counts:{k}": v for k, v in fresh.items()}, ttl)
    return {**cached, **fresh}


def _message_counts_query(schemas: list[str]) -> dict[str, MessageCounts]:
    present = schemas_with_messages(schemas)
    if not present:
        return {}
    with connection.cursor() as cursor:
        parts = [
            f"SELECT %s, "  # noqa: S608 (schema names are quoted identifiers read from pg_namespace)
            "count(*) FILTER (WHERE direction = 'incoming' AND timestamp >= %s), "
            "count(*) FILTER (WHERE direction = 'outgoing' AND timestamp >= %s), "
            "count(*) FILTER (WHERE direction = 'incoming'), "
            "count(*) FILTER (WHERE direction = 'outgoing') "
            f"FROM {quote_name(schema)}.whatsapp_whatsappmessage WHERE timestamp >= %s"
            for schema in present
        ]
        now = timezone.now()
        day, month = now - timedelta(hours=24), now - timedelta(days=30)
        params: list[Any] = []
        for schema in present:
            params += [schema, day, day, month]
        cursor.execute(" UNION ALL ".join(parts), params)
        return {row[0]: MessageCounts(*row[1:]) for row in cursor.fetchall()}


@dataclass(frozen=True)
class TenantPage:
    """Everything the tenant page shows; never a token, only its state."""

    organization: Organization
    numbers: list[tuple[PhoneNumber, Any]]
    credential: WhatsAppCredential | None
    members: list[Membership]
    suspensions: list[OrganizationSuspension]
    failures_by_code: list[dict[str, Any]]
    webhook_failures: list[dict[str, Any]]
    messages: MessageCounts
    daily_volume: list[dict[str, Any]]
    audit: list[AuditEntry]


def tenant_page(*, organization: Organization) -> TenantPage:
    """The tenant page's data: numbers with the number doctor's last check-up, the token's
    state, members, suspension history, failed sends of the last 7 days by Meta error code,
    failed webhook changes by error, 14 days of message volume, the last audit entries."""
    from whatsapp.models import WhatsAppMessage
    from whatsapp.numbers.models import NumberCheckup

    numbers = list(PhoneNumber.objects.filter(organization=organization))
    week = timezone.now() - timedelta(days=7)
    with schema_context(organization.schema_name):
        checkups = {
            c.phone_number_id: c
            for c in NumberCheckup.objects.filter(
                phone_number_id__in=[n.phone_number_id for n in numbers]
            )
        }
        failures = list(
            WhatsAppMessage.objects.filter(
                direction=WhatsAppMessage.Direction.OUTGOING,
                status=WhatsAppMessage.Status.FAILED,
                timestamp__gte=week,
            )
            .order_by()
            .values("error_code", "error_title")
            .annotate(n=Count("*"))
            .order_by("-n")[:20]
        )
        daily = _daily_volume(WhatsAppMessage)
    webhook_failures = list(
        WebhookChange.objects.filter(organization=organization, state=WebhookChange.State.FAILED)
        .order_by()
        .values("field", "error")
        .annotate(n=Count("*"))
        .order_by("-n")[:20]
    )
    return TenantPage(
        organization=organization,
        numbers=[(n, checkups.get(n.phone_number_id)) for n in numbers],
        credential=WhatsAppCredential.objects.filter(organization=organization).first(),
        members=list(
            Membership.objects.filter(organization=organization)
            .select_related("user")
            .order_by("role", "user__username")
        ),
        suspensions=list(
            OrganizationSuspension.objects.filter(organization=organization).select_related(
                "suspended_by", "reactivated_by"
            )
        ),
        failures_by_code=failures,
        webhook_failures=webhook_failures,
        messages=tenant_message_counts(schemas=[organization.schema_name]).get(
            organization.schema_name, MessageCounts()
        ),
        daily_volume=daily,
        audit=list(AuditEntry.objects.filter(org_id=organization.org_id)[:10]),
    )


def _daily_volume(message_model: Any) -> list[dict[str, Any]]:
    """[{"day": date, "in": n, "out": n, "in_px", "out_px"}] for the last 14 days (oldest
    first, empty days 0)."""
    from django.db.models.functions import TruncDate

    today = timezone.now().date()
    start = today - timedelta(days=13)
    rows = (
        message_model.objects.filter(timestamp__date__gte=start)
        .annotate(day=TruncDate("timestamp"))
        .order_by()
        .values("day", "direction")
        .annotate(n=Count("*"))
    )
    volume = {start + timedelta(days=i): {"in": 0, "out": 0} for i in range(14)}
    for row in rows:
        if row["day"] in volume:
            volume[row["day"]]["in" if row["direction"] == "incoming" else "out"] = row["n"]
    peak = max([1, *(max(c["in"], c["out"]) for c in volume.values())])
    return [
        {
            "day": day,
            **counts,
            # Bar heights in pixels (60 for the busiest day), so the template only draws.
            "in_px": round(60 * counts["in"] / peak),
            "out_px": round(60 * counts["out"] / peak),
        }
        for day, counts in volume.items()
    ]
