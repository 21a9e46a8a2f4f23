"""Business hours in the organization's time zone (pure: no database).

`business_hours` is `{"mon": [["09:00", "17:00"], ...], ..., "sun": [...]}` in local time; a
range whose end is not after its start crosses midnight (`["22:00", "02:00"]` on "fri" is open
Friday 22:00 to Saturday 02:00). `holidays` are local dates ("2026-12-25"): closed all day
(the part of a previous day's range that runs past midnight into a holiday is closed too).
An empty `business_hours` means always open.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class HoursError(ValueError):
    """Business hours or holidays that cannot be read (message says why)."""


def _time(value: str) -> time:
    try:
        return time.fromisoformat(value)
    except (TypeError, ValueError) as exc:
        raise HoursError(f"{value!r} is not a time like 09:00.") from exc


def hours_check(*, business_hours: dict, holidays: list, time_zone: str) -> None:
    """Raise HoursError unless the three are well formed."""
    if time_zone:
        try:
            ZoneInfo(time_zone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise HoursError(f"Unknown time zone {time_zone!r}.") from exc
    if not isinstance(business_hours, dict):
        raise HoursError("business_hours is an object of weekday -> ranges.")
    for day, ranges in business_hours.items():
        if day not in DAYS:
            raise HoursError(f"Unknown weekday {day!r} (use {', '.join(DAYS)}).")
        if not isinstance(ranges, list):
            raise HoursError(f"{day}: a list of [start, end] ranges.")
        for pair in ranges:
            if not isinstance(pair, list | tuple) or len(pair) != 2:
                raise HoursError(f"{day}: each range is [start, end].")
            _time(pair[0]), _time(pair[1])
    if not isinstance(holidays, list):
        raise HoursError("holidays is a list of dates.")
    for value in holidays:
        try:
            date.fromisoformat(value)
        except (TypeError, ValueError) as exc:
            raise HoursError(f"{value!r} is not a date like 2026-12-25.") from exc


def is_open(*, business_hours: dict, holidays: list, time_zone: str, now: datetime) -> bool:
    """Whether `now` (aware) falls inside the business hours, in `time_zone` (UTC if blank)."""
    if not business_hours:
        return True
    local = now.astimezone(ZoneInfo(time_zone or "UTC"))
    if local.date().isoformat() in set(holidays):
        return False
    clock = local.time().replace(tzinfo=None)
    today = DAYS[local.weekday()]
    yesterday = DAYS[(local.date() - timedelta(days=1)).weekday()]
    for start, end in business_hours.get(today, []):
        start_t, end_t = _time(start), _time(end)
        if start_t < end_t and start_t <= clock < end_t:
            return True
        if end_t <= start_t and clock >= start_t:  # tonight's part of a range past midnight
            return True
    for start, end in business_hours.get(yesterday, []):
        start_t, end_t = _time(start), _time(end)
        if end_t <= start_t and clock < end_t:  # this morning's part of yesterday's range
            return True
    return False
