"""Billing periods: an organization's calendar month in its own time zone.

`Organization.time_zone` is an IANA name (Europe/Berlin); a month starts at local midnight of
its first day, so an event at 23:30 on 31 January in Tokyo counts in January even though it is
14:30 UTC. Usage is kept per local day (billing_stub.models.UsageCounter).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.utils import timezone


@dataclass(frozen=True)
class Period:
    """[start, end) as aware datetimes; `first_day` and `last_day` are local dates."""

    first_day: dt.date
    last_day: dt.date
    start: dt.datetime
    end: dt.datetime


def zone(name: str) -> dt.tzinfo:
    """The zone `name`, UTC when it is unknown (a bad value must not stop metering)."""
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return dt.UTC


def local_day(*, time_zone: str, at: dt.datetime | None = None) -> dt.date:
    """The local calendar day of instant `at` (default now) in `time_zone`."""
    return (at or timezone.now()).astimezone(zone(time_zone)).date()


def period_of(*, time_zone: str, at: dt.datetime | None = None) -> Period:
    """The calendar month (in `time_zone`) holding instant `at` (default now)."""
    return period_for_day(time_zone=time_zone, day=local_day(time_zone=time_zone, at=at))


def period_for_day(*, time_zone: str, day: dt.date) -> Period:
    """The calendar month (in `time_zone`) holding local date `day`."""
    tz = zone(time_zone)
    first = day.replace(day=1)
    following = (first + dt.timedelta(days=32)).replace(day=1)
    return Period(
        first_day=first,
        last_day=following - dt.timedelta(days=1),
        start=dt.datetime.combine(first, dt.time(), tzinfo=tz),
        end=dt.datetime.combine(following, dt.time(), tzinfo=tz),
    )
