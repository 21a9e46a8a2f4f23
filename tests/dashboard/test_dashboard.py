"""The dashboard's selectors and page: counts per day, rates, failures by Meta error, the
attention list, a constant number of queries, and only the host's organization's data."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tenants.models import Organization
from tests.conftest import in_tenant
from tests.dashboard.data import dashboard_data
from whatsapp.dashboard import selectors

pytestmark = pytest.mark.django_db


def test_selectors_count_by_day_rates_and_failures(org_a) -> None:
    dashboard_data(org_a)
    with in_tenant(org_a):
        volume = selectors.daily_volume(organization=org_a.organization, days=30)
        assert len(volume.days) == 30 and volume.days[-1] == timezone.now().date()
        assert volume.incoming[-1] == 3 and volume.incoming[-4] == 2
        assert sum(volume.incoming) == 5 and sum(volume.outgoing) == 4
        assert volume.last(7).days == volume.days[-7:]
        week, month = selectors.delivery_rates(windows=(7, 30))
        assert (week.sent, week.delivered, week.read, week.failed) == (4, 3, 2, 1)
        assert (week.delivered_rate, week.read_rate, week.failed_rate) == (0.75, 0.5, 0.25)
        assert month.sent == 4
        failures = selectors.failures_by_error(days=30)
        assert [(f.error_code, f.error_title, f.count) for f in failures] == [
            (131026, "Message undeliverable", 1)
        ]


def test_days_follow_the_organization_time_zone(org_a) -> None:
    """At 23:30 UTC it is 08:30 the next day in Tokyo: a message of 14:30 UTC today was sent
    at 23:30 yesterday there (in UTC it would count for today)."""
    from tests.factories import IncomingMessageFactory

    now = timezone.now().replace(hour=23, minute=30)
    org = Organization.objects.get(pk=org_a.organization.pk)  # not the session's shared object
    org.time_zone = "Asia/Tokyo"
    with in_tenant(org_a):
        IncomingMessageFactory(timestamp=now - timedelta(hours=9))
        volume = selectors.daily_volume(organization=org, days=30, now=now)
    assert volume.days[-1] == (now + timedelta(hours=9)).date()
    assert (volume.incoming[-2], volume.incoming[-1]) == (1, 0)


def test_attention_lists_halted_sending_and_dropped_quality_worst_first(org_a) -> None:
    phone_numbers = dashboard_data(org_a)
    token = selectors.credential(organization=org_a.organization)
    items = selectors.attention(
        organization=org_a.organization,
        phone_numbers=selectors.numbers(organization=org_a.organization),
        token=token,
    )
    titles = [item.title for item in items]
    assert titles[0].startswith("Sending is halted")
    assert f"Quality of {phone_numbers[0].display_label} dropped (DOWNGRADE)." in titles
    assert all(item.severity == "bad" for item in items)


def test_dashboard_page_shows_its_own_org_only_in_a_constant_number_of_queries(
    org_a, org_b, tenant_client
) -> None:
    dashboard_data(org_a, numbers=1)
    client = tenant_client(org_a)
    client.force_login(admin_of(org_a))
    client.get("/")  # the session's first request binds it to the host (one write)
    with CaptureQueriesContext(connection) as one:
        response = client.get("/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "Sending is halted" in page and "131026" in page

    # Four more numbers and more messages: not one more query.
    dashboard_data(org_a, numbers=4)
    with CaptureQueriesContext(connection) as five:
        assert client.get("/").status_code == 200
    assert len(five.captured_queries) == len(one.captured_queries)

    # B's dashboard shows none of A's numbers, token state, messages or failures.
    other = tenant_client(org_b)
    other.force_login(admin_of(org_b))
    page_b = other.get("/").content.decode()
    assert "131026" not in page_b and "Sending is halted" not in page_b
    assert "No number is connected yet" in page_b


def test_dashboard_needs_a_member_of_the_host(org_a, org_b, tenant_client) -> None:
    assert tenant_client(org_a).get("/")["Location"].startswith("/login/")
    client = tenant_client(org_b)
    client.force_login(admin_of(org_a))
    assert client.get("/")["Location"].startswith("/login/")


def admin_of(org):
    return get_user_model().objects.get(username=org.admin_email)


def test_attention_warns_of_an_expiring_token_and_a_missing_one(org_a) -> None:
    from tenants.services.credentials import credential_store
    from tests.factories import PhoneNumberFactory

    number = PhoneNumberFactory(organization=org_a.organization, quality_rating="GREEN")
    missing = selectors.attention(
        organization=org_a.organization, phone_numbers=[number], token=None
    )
    assert [item.title for item in missing] == ["No WhatsApp access token is stored."]
    token = credential_store(
        organization=org_a.organization,
        access_token="EAAG-expiring",
        expires_at=timezone.now() + timedelta(days=3),
    )
    soon = selectors.attention(organization=org_a.organization, phone_numbers=[number], token=token)
    assert [(item.severity, item.title[:30]) for item in soon] == [
        ("warn", "The access token expires on 20")
    ]
    token.expires_at = timezone.now() + timedelta(days=30)
    assert (
        selectors.attention(organization=org_a.organization, phone_numbers=[number], token=token)
        == []
    )
