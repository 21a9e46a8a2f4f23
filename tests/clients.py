"""The one way tests talk to the REST API: a Django test client on an organization's host,
authenticated by a JWT or an API key, or as the organization's admin."""

from __future__ import annotations

from django.test import Client

from tests.conftest import PASSWORD, OrgFixture


def obtain_tokens(org: OrgFixture, email: str | None = None) -> dict[str, str]:
    """`{"access", "refresh"}` for `email` (default: org's admin), obtained on org's host."""
    response = Client(HTTP_HOST=org.host).post(
        "/api/v1/auth/token/",
        {"username": email or org.admin_email, "password": PASSWORD},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    return response.json()


def api_client(org: OrgFixture, *, token: str | None = None, api_key: str | None = None) -> Client:
    """A client on org's host: with a `Bearer` JWT, an `Api-Key`, or anonymous."""
    headers: dict[str, str] = {"HTTP_HOST": org.host}
    if token:
        headers["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    if api_key:
        headers["HTTP_AUTHORIZATION"] = f"Api-Key {api_key}"
    return Client(**headers)


def admin_client(org: OrgFixture) -> Client:
    """A client on org's host authenticated as org's admin (a fresh JWT)."""
    return api_client(org, token=obtain_tokens(org)["access"])


def staff_client(user, *, host: str = "localhost") -> Client:
    """A public-host client signed in as staff `user` with the second factor verified (as
    after /console/verify/), which the console and the Django admin require."""
    from django_otp import DEVICE_ID_SESSION_KEY

    from tenants.services.staff_otp import staff_totp_device

    client = Client(HTTP_HOST=host)
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = staff_totp_device(user=user).persistent_id
    session.save()
    return client
