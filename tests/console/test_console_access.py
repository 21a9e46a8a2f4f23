"""Who may open the console: every console URL refuses anonymous people, organization admins
and staff who did not pass the second factor, and tells them nothing."""

from __future__ import annotations

import time

import pytest
from django.conf import settings
from django.test import Client
from django.urls import get_resolver

from tenants.services.staff_otp import staff_totp_device, totp_code_now
from tests.conftest import PASSWORD
from tests.console.conftest import console_sign_in
from tests.factories import RawWebhookEventFactory, WebhookChangeFactory

pytestmark = pytest.mark.django_db

OPEN = {"console-login", "console-verify", "console-logout"}


def _console_urls(org_slug: str, event_id: int, phone_number_id: str) -> list[str]:
    """Every console URL pattern, filled in with real ids (so a leak would show real data)."""
    resolver = get_resolver("saas_platform.urls_public")
    console = next(p for p in resolver.url_patterns if str(p.pattern) == "console/")
    urls = []
    for pattern in console.url_patterns:
        if pattern.name in OPEN:
            continue
        route = str(pattern.pattern)
        route = route.replace("<slug:slug>", org_slug).replace("<int:event_id>", str(event_id))
        route = route.replace("<str:phone_number_id>", phone_number_id)
        assert "<" not in route, route
        urls.append("/console/" + route)
    return urls


@pytest.fixture
def urls(org_a):
    change = WebhookChangeFactory(
        organization=org_a.organization,
        phone_number_id="1234509876",
        state="failed",
        error="secret-looking error text",
    )
    return _console_urls(org_a.organization.slug, change.event_id, "1234509876")


def _assert_refused(response, org_a, *, anonymous_get_redirects_to: str | None) -> None:
    body = response.content.decode()
    assert org_a.organization.name not in body
    assert "secret-looking error text" not in body
    assert "1234509876" not in body
    if anonymous_get_redirects_to and response.status_code == 302:
        assert response["Location"].startswith(anonymous_get_redirects_to)
    else:
        assert response.status_code == 403, (response.status_code, body[:200])


def test_there_are_console_urls_to_check(urls):
    assert len(urls) >= 12
    assert "/console/tenants/alpha/suspend/" in urls


def test_anonymous_is_sent_to_sign_in_or_refused(urls, org_a):
    client = Client(HTTP_HOST=settings.BASE_DOMAIN)
    for url in urls:
        _assert_refused(client.get(url), org_a, anonymous_get_redirects_to="/console/login/")
        _assert_refused(client.post(url), org_a, anonymous_get_redirects_to=None)


def test_org_admin_is_refused_everywhere(urls, org_a, make_user):
    admin = make_user("boss@alpha.test", org=org_a, role="admin")
    # Signed in (a session forced onto the public host, the strongest case): still refused.
    client = Client(HTTP_HOST=settings.BASE_DOMAIN)
    client.force_login(admin)
    for url in urls:
        _assert_refused(client.get(url), org_a, anonymous_get_redirects_to="/console/login/")
        _assert_refused(client.post(url), org_a, anonymous_get_redirects_to=None)
    # The console's sign-in refuses them like a wrong password.
    fresh = Client(HTTP_HOST=settings.BASE_DOMAIN)
    response = fresh.post("/console/login/", {"username": admin.username, "password": PASSWORD})
    assert response.status_code == 400
    assert "do not match" in response.content.decode()
    assert fresh.get("/console/tenants/").status_code == 302


def test_org_admin_on_their_own_host_has_no_console(org_a, make_user):
    admin = make_user("boss2@alpha.test", org=org_a, role="admin")
    client = Client(HTTP_HOST=org_a.host)
    client.force_login(admin)
    assert client.get("/console/tenants/").status_code == 404


def test_staff_without_second_factor_is_refused(urls, org_a, staff_user):
    client = console_sign_in(staff_user, second_factor=False)
    for url in urls:
        _assert_refused(client.get(url), org_a, anonymous_get_redirects_to="/console/verify/")
        _assert_refused(client.post(url), org_a, anonymous_get_redirects_to=None)


def test_wrong_code_is_refused_and_right_code_lets_staff_in(org_a, staff_user):
    client = console_sign_in(staff_user, second_factor=False)
    response = client.post("/console/verify/", {"token": "000000"})
    assert response.status_code == 400
    assert client.get("/console/tenants/").status_code == 302
    time.sleep(1.1)  # django-otp throttles after a wrong code: 1 s, doubling per failure
    device = staff_totp_device(user=staff_user)
    assert client.post("/console/verify/", {"token": totp_code_now(device)}).status_code == 302
    response = client.get("/console/tenants/")
    assert response.status_code == 200
    assert org_a.organization.name in response.content.decode()


def test_staff_without_a_device_cannot_get_past_the_second_step(make_user):
    user = make_user("nodevice@platform.test", is_staff=True)
    client = Client(HTTP_HOST=settings.BASE_DOMAIN)
    client.post("/console/login/", {"username": user.username, "password": PASSWORD})
    response = client.get("/console/verify/")
    assert "no authenticator" in response.content.decode()
    assert client.get("/console/tenants/").status_code == 302


def test_verified_staff_opens_every_page(console, urls, org_a):
    RawWebhookEventFactory(state="malformed")
    for url in urls:
        if url.endswith(
            ("/suspend/", "/reactivate/", "/replay/", "/refresh/", "/check/", "/cancel/")
        ):
            continue
        response = console.get(url, follow=True)
        assert response.status_code == 200, (url, response.content[:300])


def test_next_never_leaves_the_console(staff_user):
    client = Client(HTTP_HOST=settings.BASE_DOMAIN)
    device = staff_totp_device(user=staff_user)
    client.post("/console/login/", {"username": staff_user.username, "password": PASSWORD})
    response = client.post("/console/verify/?next=//evil.test/", {"token": totp_code_now(device)})
    assert response["Location"] == "/console/"
