"""Staff inspect webhook records in the admin (never their bodies) and replay them."""

from __future__ import annotations

import pytest
from django.test import Client

from tenants.models import WebhookChange
from tenants.services.routing import phone_number_connect
from tests.clients import staff_client as verified_staff_client
from tests.factories import RawWebhookEventFactory, WebhookChangeFactory

pytestmark = pytest.mark.django_db

SECRET_LOOKING_BODY = b'{"text": {"body": "my card is 4111 1111 1111 1111"}}'


@pytest.fixture
def staff_client(make_user) -> Client:
    return verified_staff_client(make_user("ops@platform.test", is_staff=True, is_superuser=True))


@pytest.fixture
def unroutable_change() -> WebhookChange:
    event = RawWebhookEventFactory(body=SECRET_LOOKING_BODY, state="routed")
    return WebhookChangeFactory(event=event, phone_number_id="5550009", state="unroutable")


def test_staff_see_events_and_changes_but_not_bodies(staff_client, unroutable_change) -> None:
    pages = [
        "/admin/tenants/rawwebhookevent/",
        f"/admin/tenants/rawwebhookevent/{unroutable_change.event_id}/change/",
        "/admin/tenants/webhookchange/",
        f"/admin/tenants/webhookchange/{unroutable_change.pk}/change/",
        "/admin/tenants/accountevent/",
    ]
    for page in pages:
        response = staff_client.get(page)
        assert response.status_code == 200, page
        assert b"4111" not in response.content


def test_replay_action_routes_a_change_once_its_number_is_connected(
    staff_client, unroutable_change, org_a
) -> None:
    phone_number_connect(
        organization=org_a.organization,
        phone_number_id="5550009",
        waba_id="1",
        display_number="+1555",
    )
    response = staff_client.post(
        "/admin/tenants/webhookchange/",
        {"action": "replay", "_selected_action": [unroutable_change.pk]},
        follow=True,
    )
    assert response.status_code == 200
    assert b"1 change(s) queued again" in response.content
    unroutable_change.refresh_from_db()
    assert unroutable_change.state == "pending"
    assert unroutable_change.organization == org_a.organization


def test_org_members_cannot_reach_the_admin(org_a) -> None:
    client = Client(HTTP_HOST="localhost")
    client.post(
        "/admin/login/?next=/admin/",
        {"username": org_a.admin_email, "password": org_a.password},
    )
    assert client.get("/admin/tenants/webhookchange/").status_code == 302  # to the login page


def test_staff_without_the_second_factor_cannot_use_the_admin(make_user) -> None:
    """A staff password alone opens neither the console nor the Django admin."""
    client = Client(HTTP_HOST="localhost")
    client.force_login(make_user("ops2@platform.test", is_staff=True, is_superuser=True))
    response = client.get("/admin/tenants/webhookchange/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
