"""An organization's time zone and business hours (the chatbot answers "we are closed" by them)."""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from datetime import datetime, time

from django.db import transaction

from tenants.models import BusinessHours, Organization


class ScheduleError(ValueError):
    """A time zone or an interval that cannot be stored (message is user-facing)."""


@dataclass(frozen=True)
class Interval:
    """One opening interval: weekday 0 (Monday) to 6 (Sunday), local times, opens < closes."""

    weekday: int
    opens_at: time
    closes_at: time


def schedule_get(*, organization: Organization) -> list[Interval]:
    """The organization's intervals, by weekday then opening time."""
    return [
        Interval(row.weekday, row.opens_at, row.closes_at)
        for row in BusinessHours.objects.filter(organization=organization)
    ]


@transaction.atomic
def schedule_set(*, organization: Organization, time_zone: str, intervals: list[Interval]) -> None:
    """Replace the organization's time zone and business hours. Raises ScheduleError for an
    unknown IANA zone, a weekday outside 0..6, an interval that does not open before it closes,
    or two intervals of a day that overlap."""
    if time_zone not in zoneinfo.available_timezones():
        raise ScheduleError(f"Unknown time zone {time_zone!r}.")
    ordered = sorted(intervals, key=lambda i: (i.weekday, i.opens_at))
    for index, interval in enumerate(ordered):
        if not 0 <= interval.weekday <= 6:
            raise ScheduleError("Weekdays go from 0 (Monday) to 6 (Sunday).")
        if interval.opens_at >= interval.closes_at:
            raise ScheduleError("Each interval must open before it closes.")
        previous = ordered[index - 1] if index else None
        if (
            previous
            and previous.weekday == interval.weekday
            and previous.closes_at > interval.opens_at
        ):
            raise ScheduleError("Two intervals of the same day overlap.")
    organization.time_zone = time_zone
    organization.save(update_fields=["time_zone"])
    BusinessHours.objects.filter(organization=organization).delete()
    BusinessHours.objects.bulk_create(
        BusinessHours(
            organization=organization,
            weekday=i.weekday,
            opens_at=i.opens_at,
            closes_at=i.closes_at,
        )
        for i in ordered
    )


def organization_is_open(*, organization: Organization, at: datetime) -> bool:
    """Whether `at` (an aware datetime) falls in one of the organization's intervals, read in
    the organization's time zone. No intervals at all means closed."""
    local = at.astimezone(zoneinfo.ZoneInfo(organization.time_zone))
    return BusinessHours.objects.filter(
        organization=organization,
        weekday=local.weekday(),
        opens_at__lte=local.time(),
        closes_at__gt=local.time(),
    ).exists()
