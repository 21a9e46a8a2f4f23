"""What the dashboard shows, each part in one query whatever the number of rows (no query per
row or per day): message volumes by day, delivery rates, failures by Meta error, the numbers
and their health, the token's state, and what needs attention.

Run inside the organization's schema (messages) with the organization at hand (numbers and the
token live in the public schema, filtered by it).
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db.models import Count, Max, Q
from django.db.models.functions import TruncDate
from django.utils import timezone

from tenants.models import AccountEvent, Organization, PhoneNumber, WhatsAppCredential
from whatsapp.models import WhatsAppMessage

OUTGOING = WhatsAppMessage.Direction.OUTGOING
INCOMING = WhatsAppMessage.Direction.INCOMING
# Outgoing states that mean "reached the phone" (Meta's receipts only move forward).
DELIVERED_STATES = ("delivered", "read", "played")
READ_STATES = ("read", "played")
# Quality Meta reports for a number (phone_number_quality_update) that calls for action.
QUALITY_DROPPED_RATINGS = ("YELLOW", "RED")
QUALITY_DROPPED_EVENTS = ("FLAGGED", "DOWNGRADE")
# account_update events that restrict what the WABA may send.
# https://developers.facebook.com/docs/graph-api/webhooks/reference/whatsapp-business-account/
ACCOUNT_RESTRICTING_EVENTS = ("ACCOUNT_VIOLATION", "ACCOUNT_RESTRICTION", "DISABLED_UPDATE")
TOKEN_EXPIRY_WARNING = timedelta(days=7)


@dataclass(frozen=True)
class DailyVolume:
    """Messages per day of the organization's time zone, oldest first, one entry per day
    (zero days included): `days[i]` has `incoming[i]` and `outgoing[i]` messages."""

    days: tuple[date, ...]
    incoming: tuple[int, ...]
    outgoing: tuple[int, ...]

    @property
    def rows(self) -> list[tuple[date, int, int]]:
        return list(zip(self.days, self.incoming, self.outgoing, strict=True))

    def last(self, n: int) -> DailyVolume:
        return DailyVolume(self.days[-n:], self.incoming[-n:], self.outgoing[-n:])


def daily_volume(
    *, organization: Organization, days: int = 30, now: datetime | None = None
) -> DailyVolume:
    """Incoming and outgoing messages per local day over the last `days` days (today included)."""
    tz = zoneinfo.ZoneInfo(organization.time_zone)
    today = (now or timezone.now()).astimezone(tz).date()
    first = today - timedelta(days=days - 1)
    start = datetime.combine(first, datetime.min.time(), tzinfo=tz)
    rows = (
        WhatsAppMessage.objects.filter(timestamp__gte=start)
        .annotate(day=TruncDate("timestamp", tzinfo=tz))
        .values("day", "direction")
        .annotate(n=Count("id"))
        .order_by()
    )
    counts = {(row["day"], row["direction"]): row["n"] for row in rows}
    all_days = tuple(first + timedelta(days=i) for i in range(days))
    return DailyVolume(
        days=all_days,
        incoming=tuple(counts.get((d, INCOMING), 0) for d in all_days),
        outgoing=tuple(counts.get((d, OUTGOING), 0) for d in all_days),
    )


@dataclass(frozen=True)
class DeliveryRates:
    """Outgoing messages created in the window and how far they got. Rates are fractions of
    `sent` (0.0 when nothing was sent); `sent` counts every outgoing message of the window."""

    days: int
    sent: int
    delivered: int
    read: int
    failed: int

    def _rate(self, part: int) -> float:
        return part / self.sent if self.sent else 0.0

    @property
    def delivered_rate(self) -> float:
        return self._rate(self.delivered)

    @property
    def read_rate(self) -> float:
        return self._rate(self.read)

    @property
    def failed_rate(self) -> float:
        return self._rate(self.failed)


def delivery_rates(
    *, windows: tuple[int, ...] = (7, 30), now: datetime | None = None
) -> list[DeliveryRates]:
    """One DeliveryRates per window (in days), all from one aggregate query."""
    now = now or timezone.now()
    aggregates = {}
    for days in windows:
        since = Q(timestamp__gte=now - timedelta(days=days))
        aggregates[f"sent_{days}"] = Count("id", filter=since)
        aggregates[f"delivered_{days}"] = Count("id", filter=since & Q(status__in=DELIVERED_STATES))
        aggregates[f"read_{days}"] = Count("id", filter=since & Q(status__in=READ_STATES))
        aggregates[f"failed_{days}"] = Count("id", filter=since & Q(status="failed"))
    totals = WhatsAppMessage.objects.filter(direction=OUTGOING).aggregate(**aggregates)
    return [
        DeliveryRates(
            days=days,
            sent=totals[f"sent_{days}"],
            delivered=totals[f"delivered_{days}"],
            read=totals[f"read_{days}"],
            failed=totals[f"failed_{days}"],
        )
        for days in windows
    ]


@dataclass(frozen=True)
class FailureCount:
    error_code: int | None
    error_title: str
    count: int


def failures_by_error(
    *, days: int = 30, limit: int = 10, now: datetime | None = None
) -> list[FailureCount]:
    """Failed outgoing messages of the last `days` days grouped by Meta's error code, most
    frequent first (https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes)."""
    since = (now or timezone.now()) - timedelta(days=days)
    rows = (
        WhatsAppMessage.objects.filter(direction=OUTGOING, status="failed", timestamp__gte=since)
        .values("error_code")
        .annotate(count=Count("id"), title=Max("error_title"))
        .order_by("-count", "error_code")[:limit]
    )
    return [FailureCount(row["error_code"], row["title"] or "", row["count"]) for row in rows]


def numbers(*, organization: Organization) -> list[PhoneNumber]:
    """The organization's connected numbers with their last reported health."""
    return list(PhoneNumber.objects.filter(organization=organization))


def credential(*, organization: Organization) -> WhatsAppCredential | None:
    return WhatsAppCredential.objects.filter(organization_id=organization.org_id).first()


@dataclass(frozen=True)
class Attention:
    """Something that needs a person: `severity` "bad" or "warn", what happened, what to do."""

    severity: str
    title: str
    action: str


def attention(
    *,
    organization: Organization,
    phone_numbers: list[PhoneNumber],
    token: WhatsAppCredential | None,
    now: datetime | None = None,
) -> list[Attention]:
    """What needs attention, worst first: halted sending, a token missing or about to expire,
    a number whose quality dropped, an account restricted by Meta (last 30 days)."""
    now = now or timezone.now()
    items: list[Attention] = []
    if token is None:
        if phone_numbers:
            items.append(
                Attention(
                    "bad",
                    "No WhatsApp access token is stored.",
                    "Connect the number again from Numbers.",
                )
            )
    elif token.state == WhatsAppCredential.State.INVALID:
        items.append(
            Attention(
                "bad",
                "Sending is halted: Meta refused the access token and it could not be refreshed.",
                "Reconnect the number from Numbers to store a new token.",
            )
        )
    elif token.expires_at is not None and token.expires_at - now < TOKEN_EXPIRY_WARNING:
        expired = token.expires_at <= now
        items.append(
            Attention(
                "bad" if expired else "warn",
                "The access token has expired."
                if expired
                else f"The access token expires on {token.expires_at:%Y-%m-%d}.",
                "Use a system-user token that does not expire, or reconnect the number.",
            )
        )
    for number in phone_numbers:
        if (
            number.quality_rating in QUALITY_DROPPED_RATINGS
            or number.quality_event in QUALITY_DROPPED_EVENTS
        ):
            items.append(
                Attention(
                    "bad" if number.quality_rating == "RED" else "warn",
                    f"Quality of {number.display_label} dropped "
                    f"({number.quality_event or number.quality_rating}).",
                    "Send fewer unsolicited messages and honour opt-outs; "
                    "Meta may lower its messaging limit.",
                )
            )
    restricted = (
        AccountEvent.objects.filter(
            organization=organization,
            event__in=ACCOUNT_RESTRICTING_EVENTS,
            received_at__gte=now - timedelta(days=30),
        )
        .values("event")
        .annotate(n=Count("id"))
        .order_by("event")
    )
    for row in restricted:
        items.append(
            Attention(
                "bad",
                f"Meta reported {row['event'].replace('_', ' ').lower()} for your account.",
                "Open WhatsApp Manager to see Meta's decision and how to appeal it.",
            )
        )
    return sorted(items, key=lambda item: item.severity != "bad")
