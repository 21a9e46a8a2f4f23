"""Business hours in a non-UTC time zone, across midnight and on holidays (pure functions)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from whatsapp.chatbot.hours import HoursError, hours_check, is_open

# São Paulo is UTC-3 all year (no daylight saving since 2019).
TZ = "America/Sao_Paulo"
HOURS = {
    "mon": [["09:00", "18:00"]],
    "fri": [["09:00", "12:00"], ["22:00", "02:00"]],  # a late shift into Saturday
}


def open_at(utc: datetime, *, holidays=()) -> bool:
    return is_open(business_hours=HOURS, holidays=list(holidays), time_zone=TZ, now=utc)


@pytest.mark.parametrize(
    ("utc", "expected"),
    [
        (datetime(2026, 11, 30, 11, 59, tzinfo=UTC), False),  # Mon 08:59 local
        (datetime(2026, 11, 30, 12, 0, tzinfo=UTC), True),  # Mon 09:00 local
        (datetime(2026, 11, 30, 20, 59, tzinfo=UTC), True),  # Mon 17:59 local (UTC already 20h)
        (datetime(2026, 11, 30, 21, 0, tzinfo=UTC), False),  # Mon 18:00 local
        (datetime(2026, 12, 5, 0, 59, tzinfo=UTC), False),  # Fri 21:59 local
        (datetime(2026, 12, 5, 1, 0, tzinfo=UTC), True),  # Fri 22:00 local (Sat in UTC)
        (datetime(2026, 12, 5, 4, 59, tzinfo=UTC), True),  # Sat 01:59 local, Friday's shift
        (datetime(2026, 12, 5, 5, 0, tzinfo=UTC), False),  # Sat 02:00 local
        (datetime(2026, 12, 6, 2, 0, tzinfo=UTC), False),  # Sat 23:00 local: no Saturday shift
    ],
)
def test_open_in_the_organizations_time_zone_across_midnight(utc, expected):
    assert open_at(utc) is expected


def test_a_holiday_is_closed_all_day_including_the_previous_nights_shift():
    monday_10h = datetime(2026, 11, 30, 13, 0, tzinfo=UTC)
    assert open_at(monday_10h)
    assert not open_at(monday_10h, holidays=["2026-11-30"])
    saturday_1h = datetime(2026, 12, 5, 4, 0, tzinfo=UTC)
    assert not open_at(saturday_1h, holidays=["2026-12-05"])


def test_no_hours_means_always_open():
    assert is_open(business_hours={}, holidays=[], time_zone="", now=datetime.now(UTC))


@pytest.mark.parametrize(
    ("hours", "holidays", "tz"),
    [
        ({"monday": [["09:00", "17:00"]]}, [], "UTC"),
        ({"mon": [["9am", "17:00"]]}, [], "UTC"),
        ({"mon": [["09:00"]]}, [], "UTC"),
        ({}, ["25/12/2026"], "UTC"),
        ({}, [], "Mars/Olympus_Mons"),
    ],
)
def test_malformed_hours_are_refused(hours, holidays, tz):
    with pytest.raises(HoursError):
        hours_check(business_hours=hours, holidays=holidays, time_zone=tz)
