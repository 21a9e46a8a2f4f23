"""A user of org A can never authenticate on org B (session, password or JWT)."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.contrib.auth import authenticate
from django.test import RequestFactory

from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def _request_on(org) -> object:
    request = RequestFactory().post("/", HTTP_HOST=org.host)
    request.tenant = org.organization
    return request


def test_member_authenticates_only_on_own_org(org_a, org_b) -> None:
    assert authenticate(_request_on(org_a), username=org_a.admin_email, password=PASSWORD)
    assert authenticate(_request_on(org_b), username=org_a.admin_email, password=PASSWORD) is None


def test_org_member_cannot_sign_in_on_public_host_but_staff_can(org_a, make_user) -> None:
    from tenants.models import Organization

    public = Organization.objects.get(schema_name="public")
    request = RequestFactory().post("/", HTTP_HOST="localhost")
    request.tenant = public
    assert authenticate(request, username=org_a.admin_email, password=PASSWORD) is None
    make_user("ops@platform.test", is_staff=True)
    assert authenticate(request, username="ops@platform.test", password=PASSWORD)


def test_suspended_org_members_cannot_authenticate(org_a) -> None:
    org_a.organization.status = "suspended"
    org_a.organization.save(update_fields=["status"])
    try:
        assert (
            authenticate(_request_on(org_a), username=org_a.admin_email, password=PASSWORD) is None
        )
    finally:
        org_a.organization.status = "active"
        org_a.organization.save(update_fields=["status"])


def test_session_of_org_a_is_anonymous_on_org_b(org_a, org_b, tenant_client) -> None:
    """A session cookie carried to B's host does not make the user a user of B."""
    from django.contrib.auth import get_user_model
    from django.http import HttpRequest

    from tenants.middleware import TenantMembershipMiddleware

    user = get_user_model().objects.get(username=org_a.admin_email)
    seen = {}

    def view(request: HttpRequest):
        seen["user"] = request.user
        return None

    for org, expected in ((org_a, True), (org_b, False)):
        request = RequestFactory().get("/", HTTP_HOST=org.host)
        request.COOKIES[settings.SESSION_COOKIE_NAME] = "a-session-of-org-a"
        request.tenant = org.organization
        request.user = user
        TenantMembershipMiddleware(view)(request)
        assert seen["user"].is_authenticated is expected


def test_jwt_obtained_on_org_a_is_refused_on_org_b(org_a, org_b, tenant_client) -> None:
    response = tenant_client(org_a).post(
        "/api/v1/auth/token/",
        {"username": org_a.admin_email, "password": PASSWORD},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    access = response.json()["access"]
    refresh = response.json()["refresh"]

    on_b = tenant_client(org_b).post(
        "/api/v1/auth/token/refresh/", {"refresh": refresh}, content_type="application/json"
    )
    assert on_b.status_code == 400
    assert "not issued for this organization" in on_b.content.decode()

    login_on_b = tenant_client(org_b).post(
        "/api/v1/auth/token/",
        {"username": org_a.admin_email, "password": PASSWORD},
        content_type="application/json",
    )
    assert login_on_b.status_code == 401
    assert "access" not in login_on_b.json()

    on_a = tenant_client(org_a).post(
        "/api/v1/auth/token/refresh/", {"refresh": refresh}, content_type="application/json"
    )
    assert on_a.status_code == 200
    assert access
