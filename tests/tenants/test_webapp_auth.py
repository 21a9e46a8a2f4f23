"""Signing in to the web app: the public host's handoff to the organization's host, sessions
bound to their host, and sign-in throttling (django-axes)."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from tenants.errors import HandoffError
from tenants.models import LoginHandoff, Membership
from tenants.services.handoff import handoff_consume, handoff_create
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def _user(email: str):
    return get_user_model().objects.get(username=email)


def _portal_login(email: str, password: str = PASSWORD, **extra):
    return Client(HTTP_HOST=settings.BASE_DOMAIN).post(
        "/login/", {"username": email, "password": password}, **extra
    )


def _token(location: str) -> str:
    return parse_qs(urlsplit(location).query)["token"][0]


def test_public_sign_in_sends_a_member_of_one_org_to_its_host(org_a) -> None:
    response = _portal_login(org_a.admin_email.upper())
    assert response.status_code == 302
    location = response["Location"]
    assert location.startswith(f"http://{org_a.host}/login/handoff/?token=")
    # No session on the public host for an org member.
    assert "sessionid" not in response.cookies

    client = Client(HTTP_HOST=org_a.host)
    landed = client.get("/login/handoff/", {"token": _token(location)})
    assert landed.status_code == 302 and landed["Location"] == "/"
    assert client.get("/").status_code == 200
    # The ticket worked once.
    again = Client(HTTP_HOST=org_a.host).get("/login/handoff/", {"token": _token(location)})
    assert again["Location"] == "/login/"


def test_public_sign_in_refuses_wrong_password_and_people_without_an_org(org_a, make_user) -> None:
    assert _portal_login(org_a.admin_email, "wrong-password").status_code == 400
    make_user("nobody@nowhere.test")  # an account without any organization
    assert _portal_login("nobody@nowhere.test").status_code == 400


def test_public_sign_in_of_a_member_of_two_orgs_shows_a_chooser(org_a, org_b, make_user) -> None:
    user = make_user("consultant@agency.test", org=org_a)
    Membership.objects.create(user=user, organization=org_b.organization)
    response = _portal_login("consultant@agency.test")
    assert response.status_code == 200
    page = response.content.decode()
    assert f"http://{org_a.host}/login/handoff/?token=" in page
    assert f"http://{org_b.host}/login/handoff/?token=" in page


def test_a_ticket_of_org_a_does_not_sign_in_on_org_b(org_a, org_b) -> None:
    token = handoff_create(user=_user(org_a.admin_email), organization=org_a.organization)
    with pytest.raises(HandoffError):
        handoff_consume(token=token, organization=org_b.organization)
    client = Client(HTTP_HOST=org_b.host)
    assert client.get("/login/handoff/", {"token": token})["Location"] == "/login/"
    assert client.get("/")["Location"].startswith("/login/")
    # ... and it still works where it belongs (B's attempt did not use it up).
    assert handoff_consume(token=token, organization=org_a.organization) == _user(org_a.admin_email)


def test_expired_ticket_and_lost_membership_are_refused(org_a, make_user) -> None:
    user = make_user("leaver@alpha.test", org=org_a)
    token = handoff_create(user=user, organization=org_a.organization)
    LoginHandoff.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(HandoffError):
        handoff_consume(token=token, organization=org_a.organization)
    token = handoff_create(user=user, organization=org_a.organization)
    Membership.objects.filter(user=user).delete()
    with pytest.raises(HandoffError):
        handoff_consume(token=token, organization=org_a.organization)
    with pytest.raises(HandoffError):
        handoff_create(user=user, organization=org_a.organization)
    assert LoginHandoff.objects.filter(token_hash=token).count() == 0  # only hashes are stored


def test_session_signed_in_on_org_a_is_anonymous_on_org_b_for_a_member_of_both(
    org_a, org_b, make_user
) -> None:
    user = make_user("both@agency.test", org=org_a)
    Membership.objects.create(user=user, organization=org_b.organization)
    on_a = Client(HTTP_HOST=org_a.host)
    response = on_a.post("/login/", {"username": "both@agency.test", "password": PASSWORD})
    assert response.status_code == 302
    assert on_a.get("/").status_code == 200
    cookie = on_a.cookies[settings.SESSION_COOKIE_NAME].value
    on_b = Client(HTTP_HOST=org_b.host)
    on_b.cookies[settings.SESSION_COOKIE_NAME] = cookie
    assert on_b.get("/")["Location"].startswith("/login/")
    assert on_b.get("/settings/")["Location"].startswith("/login/")


def test_org_host_sign_in_is_throttled_after_the_failure_limit(org_a, settings) -> None:
    settings.AXES_FAILURE_LIMIT = 3
    client = Client(HTTP_HOST=org_a.host)
    for _ in range(3):
        response = client.post("/login/", {"username": org_a.admin_email, "password": "nope"})
        assert response.status_code in (200, 429)
    # Locked out now: even the right password is refused, on the org host ...
    response = client.post("/login/", {"username": org_a.admin_email, "password": PASSWORD})
    assert response.status_code == 429
    assert "Too many sign-in attempts" in response.content.decode()
    assert client.get("/")["Location"].startswith("/login/")
    # ... on the public host (same email, same address) ...
    assert _portal_login(org_a.admin_email).status_code == 429
    # ... and at the API's token endpoint.
    token = client.post(
        "/api/v1/auth/token/",
        {"username": org_a.admin_email, "password": PASSWORD},
        content_type="application/json",
    )
    assert token.status_code in (401, 429)
    # Another email from the same address is not affected.
    assert _portal_login("someone-else@alpha.test", "nope").status_code == 400


def test_a_success_resets_the_failure_count(org_a, settings) -> None:
    settings.AXES_FAILURE_LIMIT = 3
    client = Client(HTTP_HOST=org_a.host)
    for _ in range(2):
        client.post("/login/", {"username": org_a.admin_email, "password": "nope"})
    assert (
        client.post("/login/", {"username": org_a.admin_email, "password": PASSWORD})["Location"]
        == "/"
    )
    client.post("/logout/")
    for _ in range(2):
        client.post("/login/", {"username": org_a.admin_email, "password": "nope"})
    response = client.post("/login/", {"username": org_a.admin_email, "password": PASSWORD})
    assert response.status_code == 302
