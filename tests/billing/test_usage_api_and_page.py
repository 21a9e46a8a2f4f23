"""`GET /api/v1/usage/`, `GET /api/v1/invoices/` and the `/usage/` page: the host's
organization only, every limit with used/allowed, Meta's charges by category, the daily
series; the 80 % warning on every page of the web app."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from billing_stub.models import Invoice
from billing_stub.services.metering import PricedMessage, meta_pricing_record, usage_record
from tests.clients import admin_client

from .conftest import plan_with, put_on

pytestmark = pytest.mark.django_db


def some_usage(org, *, sent: int) -> None:
    now = timezone.now()
    usage_record(organization=org.organization, metric="outbound_messages", quantity=sent)
    usage_record(organization=org.organization, metric="inbound_messages", quantity=4)
    meta_pricing_record(
        organization_id=org.organization.pk,
        messages=[PricedMessage("447700900123", "marketing", "regular", now)] * 2,
    )


def an_invoice(org) -> Invoice:
    return Invoice.objects.create(
        organization=org.organization,
        number=f"INV-{org.organization.pk:05d}-202610",
        period_start=dt.date(2026, 10, 1),
        period_end=dt.date(2026, 10, 31),
        plan_code="free",
        currency="USD",
        total=Decimal("12.34"),
    )


def test_usage_shows_every_limit_meta_charges_and_the_daily_series(org_a, org_b) -> None:
    put_on(org_a, plan_with(outbound_messages_per_month=10, members=5))
    some_usage(org_a, sent=7)
    body = admin_client(org_a).get("/api/v1/usage/").json()
    limits = {item["limit"]: item for item in body["limits"]}
    assert set(limits) == {
        "connected_numbers",
        "members",
        "contacts",
        "outbound_messages_per_month",
        "campaigns_per_month",
        "api_requests_per_minute",
    }
    outbound = limits["outbound_messages_per_month"]
    assert (outbound["used"], outbound["allowed"]) == (7, 10)
    assert outbound["resets_at"] is not None
    assert (limits["members"]["used"], limits["members"]["allowed"]) == (1, 5)
    assert limits["contacts"]["allowed"] is None
    assert body["plan"] == "tiny" and body["time_zone"] == "UTC"
    assert body["meta_by_category"] == [
        {"category": "marketing", "messages": 2, "charged": 2, "cost": "0.105800"}
    ]
    today = [d for d in body["daily"] if d["day"] == timezone.now().date().isoformat()]
    assert today == [
        {
            "day": timezone.now().date().isoformat(),
            "outbound_messages": 7,
            "inbound_messages": 4,
            "meta_messages": 2,
        }
    ]
    # Org B sees its own, empty period.
    other = admin_client(org_b).get("/api/v1/usage/").json()
    assert {i["limit"]: i["used"] for i in other["limits"]}["outbound_messages_per_month"] == 0
    assert other["meta_by_category"] == []


def test_invoices_are_listed_for_their_organization_only(org_a, org_b) -> None:
    an_invoice(org_a)
    mine = admin_client(org_a).get("/api/v1/invoices/").json()
    assert [(i["number"], i["total"], i["lines"]) for i in mine] == [
        (f"INV-{org_a.organization.pk:05d}-202610", "12.34", [])
    ]
    assert admin_client(org_b).get("/api/v1/invoices/").json() == []


def test_usage_and_invoices_need_credentials(org_a) -> None:
    anonymous = Client(HTTP_HOST=org_a.host)
    assert anonymous.get("/api/v1/usage/").status_code == 401
    assert anonymous.get("/api/v1/invoices/").status_code == 401


def test_both_endpoints_are_in_the_openapi_schema(org_a) -> None:
    schema = admin_client(org_a).get("/api/v1/schema/?format=json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert "/api/v1/usage/" in paths and "/api/v1/invoices/" in paths


def signed_in(org, email=None) -> Client:
    client = Client(HTTP_HOST=org.host)
    client.force_login(get_user_model().objects.get(username=email or org.admin_email))
    return client


def test_the_usage_page_shows_the_plan_limits_and_invoices_to_admins(org_a, make_user) -> None:
    put_on(org_a, plan_with(outbound_messages_per_month=10))
    some_usage(org_a, sent=3)
    an_invoice(org_a)
    page = signed_in(org_a).get("/usage/").content.decode()
    assert "Usage and plan" in page and "Tiny" in page
    assert "Messages sent this month" in page and 'value="30"' in page
    assert "INV-" in page and "12.34 USD" in page
    make_user("agent@alpha.test", org=org_a)
    agent_page = signed_in(org_a, "agent@alpha.test").get("/usage/").content.decode()
    assert "Messages sent this month" in agent_page and "INV-" not in agent_page


def test_every_page_warns_at_80_percent_and_not_below(enforced, org_a) -> None:
    put_on(org_a, plan_with(outbound_messages_per_month=10))
    some_usage(org_a, sent=7)
    client = signed_in(org_a)
    assert "80% of the Tiny plan" not in client.get("/").content.decode()
    usage_record(organization=org_a.organization, metric="outbound_messages", quantity=1)
    page = client.get("/").content.decode()
    assert "Messages sent this month: 8 of 10 used (80% of the Tiny plan)." in page


def test_a_past_due_subscription_is_announced_in_the_web_app(enforced, org_a) -> None:
    put_on(org_a, plan_with(), status="past_due", past_due_since=timezone.now())
    page = signed_in(org_a).get("/").content.decode()
    assert "A payment is past due" in page
