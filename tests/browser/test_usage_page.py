"""The usage page in a real browser: the plan, each limit with its bar, the 80 % warning on
every page, the messages-per-day chart drawn by the Chart.js we serve, Meta's charges by
category and the invoices (admins)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from billing_stub.models import Invoice, InvoiceLine
from billing_stub.services.metering import PricedMessage, meta_pricing_record, usage_record
from tests.billing.conftest import live_billing, plan_with, put_on  # noqa: F401 (a fixture)
from tests.browser.conftest import check_page
from tests.browser.test_shell import sign_in

pytestmark = pytest.mark.integration


def usage_data(org) -> None:
    organization = org.organization
    put_on(org, plan_with("growth", price=Decimal("29.00"), outbound_messages_per_month=500))
    now = timezone.now()
    for days_ago, sent, received in ((0, 120, 80), (1, 150, 95), (2, 140, 60)):
        at = now - dt.timedelta(days=days_ago)
        if at.month != now.month:
            continue
        usage_record(organization=organization, metric="outbound_messages", quantity=sent, at=at)
        usage_record(organization=organization, metric="inbound_messages", quantity=received, at=at)
    priced = [PricedMessage("447700900123", "marketing", "regular", now)] * 40
    priced += [PricedMessage("14155552671", "utility", "regular", now)] * 25
    priced += [PricedMessage("5511999990000", "service", "free_entry_point", now)] * 10
    meta_pricing_record(organization_id=organization.pk, messages=priced)
    invoice = Invoice.objects.create(
        organization=organization,
        number=f"INV-{organization.pk:05d}-202610",
        period_start=dt.date(2026, 10, 1),
        period_end=dt.date(2026, 10, 31),
        plan_code="growth",
        currency="USD",
        total=Decimal("31.22"),
        status=Invoice.Status.PAID,
    )
    InvoiceLine.objects.create(
        invoice=invoice,
        kind="plan_fee",
        description="Growth plan",
        quantity=1,
        unit_amount=Decimal("29"),
        amount=Decimal("29.00"),
    )


@pytest.mark.usefixtures("live_billing")
def test_usage_page_shows_limits_warning_chart_charges_and_invoices(
    web, org_a, org_b, new_page, settings
) -> None:
    settings.BILLING_ENFORCEMENT = True  # the live server runs in this process
    usage_data(org_a)
    page = new_page()
    sign_in(page, web, org_a)
    # 410 of 500 sent: the soft warning is on every page, starting with the dashboard.
    assert "82% of the Growth plan" in page.get_by_role("status").first.inner_text()
    page.get_by_role("link", name="Usage", exact=True).click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", level=1).inner_text() == "Usage and plan"
    limits = page.get_by_role("region", name="Limits", exact=True).inner_text()
    assert "Messages sent this month" in limits and "410" in limits and "82%" in limits
    drawn = page.evaluate("Chart.getChart('usage-daily').data.datasets.map(d => d.data)")
    assert sum(drawn[0]) + sum(drawn[1]) == 410 + 235
    charges = page.get_by_role(
        "region", name="Messages Meta priced, by category", exact=True
    ).inner_text()
    assert "marketing" in charges and "2.1160" in charges and "utility" in charges
    invoices = page.get_by_role("region", name="Invoices", exact=True).inner_text()
    assert "31.22 USD" in invoices and "paid" in invoices
    check_page(page, "org-usage")

    phone = new_page(phone=True)
    sign_in(phone, web, org_a)
    phone.goto(web.url(org_a.host, "/usage/"))
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    check_page(phone, "org-usage-phone")

    other = new_page()
    sign_in(other, web, org_b)
    other.goto(web.url(org_b.host, "/usage/"))
    assert "INV-" not in other.content() and "82%" not in other.content()
