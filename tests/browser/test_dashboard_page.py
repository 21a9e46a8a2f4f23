"""The dashboard in a real browser: charts drawn by the Chart.js we serve, rates, failures,
the attention list, and the same numbers as a table for screen readers."""

from __future__ import annotations

import pytest

from tests.browser.conftest import check_page
from tests.browser.test_shell import sign_in
from tests.dashboard.data import dashboard_data

pytestmark = pytest.mark.integration


def test_dashboard_shows_health_rates_failures_and_charts(web, org_a, new_page) -> None:
    numbers = dashboard_data(org_a)
    page = new_page()
    sign_in(page, web, org_a)
    attention = page.get_by_role("region", name="Needs attention").inner_text()
    assert "Sending is halted" in attention
    assert f"Quality of {numbers[0].display_label} dropped" in attention
    week = page.get_by_role("region", name="Sent, last 7 days").inner_text()
    assert "4" in week and "Delivered 75%" in week and "Read 50%" in week and "Failed 25%" in week
    failures = page.get_by_role("region", name="Failures by Meta error, last 30 days")
    assert "131026" in failures.inner_text()
    # Both charts were drawn by Chart.js (served by us) from the page's data.
    for canvas in ("volume-7", "volume-30"):
        drawn = page.evaluate(f"Chart.getChart('{canvas}').data.datasets[0].data")
        assert sum(drawn) == 5
    page.get_by_role("region", name="Messages, last 7 days").get_by_text("Show as a table").click()
    check_page(page, "org-dashboard")

    phone = new_page(phone=True)
    sign_in(phone, web, org_a)
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    check_page(phone, "org-dashboard-phone-data")
