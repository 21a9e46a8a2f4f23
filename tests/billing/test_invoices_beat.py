"""The period-close beat through the session's real Celery worker (committed rows)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from billing_stub.models import Invoice
from billing_stub.tasks import billing_periods_close_task
from tests.conftest import wait_for

from .conftest import plan_with
from .test_invoices import october_in_tokyo

pytestmark = pytest.mark.integration


def test_beat_closes_due_periods_through_the_worker(
    live_billing, celery_worker, org_a, org_b, settings
) -> None:
    settings.BILLING_STUB_OUTCOME = "succeeded"
    october_in_tokyo(org_a, plan_with(price=Decimal("10.00")))
    billing_periods_close_task.delay()

    def paid():
        """org A's October invoice is paid"""
        return Invoice.objects.filter(
            organization=org_a.organization, status="paid", period_start=dt.date(2026, 10, 1)
        ).exists()

    wait_for(paid)
    assert not Invoice.objects.filter(organization=org_b.organization).exists()
