"""The signup portal on the public host calls the one onboarding service."""

from __future__ import annotations

import pytest
from django_tenants.utils import schema_exists

from tenants.models import Membership, Organization

pytestmark = pytest.mark.django_db

GOOD = {
    "name": "Omega Traders",
    "slug": "omega",
    "admin_email": "founder@omega.test",
    "admin_password": "a-long-enough-passphrase",
}


def test_signup_creates_a_working_organization(public_client) -> None:
    page = public_client.get("/signup/")
    assert page.status_code == 200
    assert b"Create organization" in page.content

    response = public_client.post("/signup/", GOOD)
    assert response.status_code == 201
    assert b"omega.localhost" in response.content
    organization = Organization.objects.get(slug="omega")
    assert schema_exists(organization.schema_name)
    assert Membership.objects.get(organization=organization).user.email == "founder@omega.test"
    assert b"a-long-enough-passphrase" not in response.content


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("slug", "Not A Slug!", b"lowercase"),
        ("slug", "alpha", b"already exists"),
        # /console/tenants/new/ is a page, not an organization.
        ("slug", "new", b"is reserved for the platform"),
        ("admin_password", "123", b"too short"),
        ("admin_email", "not-an-email", b"valid email"),
        # Someone else's account (here org_a's admin) cannot be made admin of a new org.
        ("admin_email", "ADMIN@alpha.test", b"account with this email already exists"),
    ],
)
def test_signup_explains_bad_input(public_client, org_a, field, value, message) -> None:
    response = public_client.post("/signup/", {**GOOD, field: value})
    assert response.status_code == 400
    assert message in response.content
    assert not Organization.objects.filter(name="Omega Traders").exists()


def test_signup_is_not_served_on_tenant_hosts(tenant_client, org_a) -> None:
    assert tenant_client(org_a).get("/signup/").status_code == 404
