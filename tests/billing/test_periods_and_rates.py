"""Periods are the organization's calendar months in its time zone (rollover at local
midnight), and Meta's charges are estimated from the dated rate table, whose 1 October 2026
edition makes service messages chargeable at the utility rate."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from billing_stub.periods import period_of
from billing_stub.quota import period_used
from billing_stub.rates import edition_on, market_of, meta_rate
from billing_stub.services.metering import usage_record
from tenants.models import Organization

from .conftest import counted

TOKYO = ZoneInfo("Asia/Tokyo")


def test_a_period_is_the_local_calendar_month() -> None:
    # 15:30 UTC on 30 Nov is 00:30 on 1 Dec in Tokyo: December there, November in UTC.
    instant = dt.datetime(2026, 11, 30, 15, 30, tzinfo=dt.UTC)
    tokyo = period_of(time_zone="Asia/Tokyo", at=instant)
    utc = period_of(time_zone="UTC", at=instant)
    assert (tokyo.first_day, tokyo.last_day) == (dt.date(2026, 12, 1), dt.date(2026, 12, 31))
    assert tokyo.start == dt.datetime(2026, 12, 1, tzinfo=TOKYO)
    assert tokyo.end == dt.datetime(2027, 1, 1, tzinfo=TOKYO)
    assert (utc.first_day, utc.last_day) == (dt.date(2026, 11, 1), dt.date(2026, 11, 30))


def test_an_unknown_zone_falls_back_to_utc() -> None:
    instant = dt.datetime(2026, 2, 28, 23, 0, tzinfo=dt.UTC)
    assert period_of(time_zone="Mars/Olympus", at=instant).last_day == dt.date(2026, 2, 28)


@pytest.mark.django_db
def test_usage_rolls_over_at_local_midnight_in_a_non_utc_zone(org_a) -> None:
    Organization.objects.filter(pk=org_a.organization.pk).update(time_zone="Asia/Tokyo")
    organization = Organization.objects.get(pk=org_a.organization.pk)
    before = dt.datetime(2026, 11, 30, 23, 59, 59, tzinfo=TOKYO)
    after = dt.datetime(2026, 12, 1, 0, 0, 0, tzinfo=TOKYO)
    usage_record(organization=organization, metric="outbound_messages", quantity=3, at=before)
    usage_record(organization=organization, metric="outbound_messages", quantity=5, at=after)
    limit = "outbound_messages_per_month"
    november = period_used(organization=organization, limit=limit, at=before)
    december = period_used(organization=organization, limit=limit, at=after)
    assert (november, december) == (3, 5)
    assert counted(org_a, "outbound_messages", day=dt.date(2026, 11, 30)) == 3
    assert counted(org_a, "outbound_messages", day=dt.date(2026, 12, 1)) == 5


def test_recipients_are_placed_in_their_market() -> None:
    assert market_of("447911123456") == "GB"
    assert market_of("5511999990000") == "BR"
    assert market_of("14155552671") == "US"
    assert market_of("US.13491208655302741918") == "*"  # a BSUID has no market
    assert market_of("999123") == "*"


def test_rates_by_market_category_and_type_before_and_after_1_october_2026() -> None:
    sept = dt.datetime(2026, 9, 30, 23, 59, tzinfo=dt.UTC)
    octo = dt.datetime(2026, 10, 1, 0, 0, tzinfo=dt.UTC)
    assert meta_rate(at=sept, country="GB", category="marketing", pricing_type="regular") == (
        Decimal("0.0529")
    )
    # A free-form reply in the window: free before, charged at the utility rate from 1 Oct.
    for pricing_type in ("free_customer_service", "regular"):
        assert meta_rate(
            at=sept, country="GB", category="service", pricing_type=pricing_type
        ) == Decimal(0)
    assert meta_rate(
        at=octo, country="GB", category="service", pricing_type="free_customer_service"
    ) == Decimal("0.0220")
    # The entry point stays free; unknown markets take the '*' row; aliases map categories.
    assert meta_rate(
        at=octo, country="GB", category="marketing", pricing_type="free_entry_point"
    ) == Decimal(0)
    assert meta_rate(at=octo, country="*", category="marketing_lite", pricing_type="regular") == (
        Decimal("0.0604")
    )
    assert meta_rate(at=octo, country="ZW", category="utility", pricing_type="regular") == (
        Decimal("0.0077")
    )
    assert edition_on(dt.date(2026, 10, 1)).effective_from == dt.date(2026, 10, 1)


def test_the_rate_table_is_a_replaceable_file(settings, tmp_path) -> None:
    table = tmp_path / "rates.json"
    table.write_text(
        '{"editions": [{"effective_from": "2020-01-01", "currency": "USD", "free_types": [],'
        ' "rates": {"*": {"marketing": "1.5"}}}]}'
    )
    settings.BILLING_META_RATES_FILE = str(table)
    at = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    assert meta_rate(at=at, country="GB", category="marketing", pricing_type="regular") == (
        Decimal("1.5")
    )
