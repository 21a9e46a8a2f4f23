"""The one `IsOrgAdmin`: who may use admin-only endpoints, whatever authenticated the request.

The first tests call the permission directly with a DRF request whose user is set as each
authentication would set it (session and JWT: a database user; API key: an `ApiKeyUser`), so
every case is covered without a view that happens to accept that authentication.
"""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser
from django.test import RequestFactory
from rest_framework.request import Request

from tenants import api_key_views, permissions
from tenants.api_keys import ApiKeyUser, api_key_create
from tenants.models import Organization
from tenants.permissions import IsOrgAdmin
from tests.clients import api_client, obtain_tokens


def _allowed(user, tenant) -> bool:
    http_request = RequestFactory().get("/api/v1/api-keys/")
    http_request.tenant = tenant
    request = Request(http_request)
    request.user = user
    return IsOrgAdmin().has_permission(request, view=None)


def test_an_admin_of_the_hosts_org_is_allowed(org_a, make_user) -> None:
    admin = make_user("boss@alpha.test", org=org_a, role="admin")
    assert _allowed(admin, org_a.organization)


def test_everyone_else_is_refused_without_an_error(org_a, org_b, make_user) -> None:
    admin_a = make_user("boss@alpha.test", org=org_a, role="admin")
    member_a = make_user("member@alpha.test", org=org_a, role="member")
    key, _ = api_key_create(organization=org_a.organization, name="k", created_by=admin_a)
    public = Organization.objects.get(schema_name="public")

    assert not _allowed(member_a, org_a.organization)
    assert not _allowed(admin_a, org_b.organization)  # tenant B's host
    assert not _allowed(admin_a, public)
    assert not _allowed(admin_a, None)
    assert not _allowed(ApiKeyUser(key), org_a.organization)  # a key is not a person
    assert not _allowed(AnonymousUser(), org_a.organization)

    admin_a.is_active = False
    assert not _allowed(admin_a, org_a.organization)
    admin_a.is_active = True
    org_a.organization.status = Organization.Status.SUSPENDED
    try:
        assert not _allowed(admin_a, org_a.organization)
    finally:
        org_a.organization.status = Organization.Status.ACTIVE


def test_there_is_one_is_org_admin() -> None:
    assert api_key_views.IsOrgAdmin is permissions.IsOrgAdmin


def test_admin_endpoints_refuse_an_api_key_with_403(org_a, api_key) -> None:
    by_key = api_client(org_a, api_key=api_key(org_a))
    for path in ("/api/v1/api-keys/", "/api/v1/api-keys/1/revoke/"):
        assert by_key.post(path, {"name": "x"}, content_type="application/json").status_code == 403


@pytest.mark.parametrize("role", ["admin", "member"])
def test_admin_endpoints_follow_the_jwt_users_role(org_a, make_user, role) -> None:
    make_user(f"is-{role}@alpha.test", org=org_a, role=role)
    client = api_client(org_a, token=obtain_tokens(org_a, f"is-{role}@alpha.test")["access"])
    expected = 200 if role == "admin" else 403
    assert client.get("/api/v1/api-keys/").status_code == expected
