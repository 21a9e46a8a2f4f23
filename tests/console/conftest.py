"""Console fixtures: a staff user with a TOTP device, and a client signed in through the
console's own two steps (password, then the code)."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client

from tenants.services.staff_otp import staff_totp_device, totp_code_now
from tests.conftest import PASSWORD


@pytest.fixture
def staff_user(make_user):
    return make_user("ops@platform.test", is_staff=True)


def console_sign_in(user, *, second_factor: bool = True) -> Client:
    """A public-host client that signed in to the console as `user` (a staff user), passing
    the TOTP step unless `second_factor` is False."""
    client = Client(HTTP_HOST=settings.BASE_DOMAIN)
    device = staff_totp_device(user=user)
    response = client.post("/console/login/", {"username": user.username, "password": PASSWORD})
    assert response.status_code == 302, response.content
    assert response["Location"].startswith("/console/verify/")
    if second_factor:
        response = client.post("/console/verify/", {"token": totp_code_now(device)})
        assert response.status_code == 302, response.content
    return client


@pytest.fixture
def console(staff_user) -> Client:
    return console_sign_in(staff_user)
