"""Tenant isolation of every API route, including routes added after this test was written.

The route walk reads the tenant urlconf itself, so a new endpoint is checked without anyone
remembering to list it: it must refuse anonymous callers (401) and the credentials of another
organization (401, nothing of that organization in the body). Only the token endpoints, the
schema/docs and the signed media download link (its token is the credential, bound to one
organization: tests/storage/test_s3_media.py) are public, by name.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.views import APIView

from tests.clients import api_client

pytestmark = pytest.mark.django_db

TENANT_URLCONF = "saas_platform.urls_tenant"
PUBLIC_ROUTE_NAMES = {
    "token_obtain_pair",
    "token_refresh",
    "api_schema",
    "api_docs",
    "api_media_link_download",
}
METHODS = ("get", "post", "put", "patch", "delete")
MARK = "beta-secret-marker"


def _routes() -> Iterator[tuple[str, URLPattern]]:
    def walk(patterns: list, prefix: str) -> Iterator[tuple[str, URLPattern]]:
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, route)
            else:
                yield route, pattern

    yield from walk(get_resolver(TENANT_URLCONF).url_patterns, "")


def _is_api(route: str, pattern: URLPattern) -> bool:
    view_class = getattr(pattern.callback, "cls", None)
    return route.startswith("api/") or (
        isinstance(view_class, type) and issubclass(view_class, APIView)
    )


def _methods(pattern: URLPattern) -> list[str]:
    view_class = getattr(pattern.callback, "cls", None)
    if view_class is None:  # a plain Django view: try everything
        return list(METHODS)
    return [m for m in METHODS if hasattr(view_class, m)]


API_ROUTES = [(r, p) for r, p in _routes() if _is_api(r, p)]
PROTECTED = [(r, p) for r, p in API_ROUTES if p.name not in PUBLIC_ROUTE_NAMES]


def _url(route: str, pk: int) -> str:
    route = route.replace("^", "").replace("$", "")
    return "/" + re.sub(r"<(?:\w+:)?\w+>", str(pk), route)


def test_the_walk_finds_the_api() -> None:
    names = {p.name for _, p in API_ROUTES}
    assert {
        "api_message_list",
        "api_message_incoming",
        "api_message_outgoing",
        "api_message_detail",
        "api_contact_list",
        "api_contact_detail",
        "api_media_list",
        "api_media_detail",
        "api_media_download",
        "api_key_list",
        "api_key_revoke",
    } <= names
    assert names >= PUBLIC_ROUTE_NAMES


@pytest.fixture
def beta_rows(org_b, rows) -> int:
    """A row of every kind in org B, all carrying MARK; returns an id that exists in B."""
    r = rows(org_b)
    contact = r.contact(name=MARK)
    media = r.media(r.message(contact, text=MARK, type="image"), content=MARK.encode())
    return media.pk


@pytest.mark.parametrize(("route", "pattern"), PROTECTED, ids=[p.name for _, p in PROTECTED])
def test_every_api_route_refuses_anonymous_callers(org_b, beta_rows, route, pattern) -> None:
    client = api_client(org_b)
    for method in _methods(pattern):
        response = getattr(client, method)(_url(route, beta_rows), content_type="application/json")
        assert response.status_code == 401, (method, route, response.status_code)
        assert MARK not in response.content.decode()


@pytest.mark.parametrize(("route", "pattern"), PROTECTED, ids=[p.name for _, p in PROTECTED])
def test_every_api_route_refuses_org_a_credentials_on_org_b(
    org_a, org_b, jwt, api_key, beta_rows, route, pattern
) -> None:
    for client in (api_client(org_b, token=jwt(org_a)), api_client(org_b, api_key=api_key(org_a))):
        for method in _methods(pattern):
            response = getattr(client, method)(
                _url(route, beta_rows), content_type="application/json"
            )
            assert response.status_code == 401, (method, route, response.status_code)
            assert MARK not in response.content.decode()


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/messages/",
        "/api/v1/messages/incoming/",
        "/api/v1/messages/outgoing/",
        "/api/v1/contacts/",
        "/api/v1/media/",
        "/api/v1/api-keys/",
    ],
)
def test_lists_on_org_a_show_nothing_of_org_b(org_a, client_for, rows, beta_rows, url) -> None:
    rows(org_a).message(direction="outgoing", status="sent")
    rows(org_a).message()
    response = client_for(org_a).get(url)
    assert response.status_code == 200
    assert MARK not in response.content.decode()


def test_ids_of_org_b_asked_on_org_a_are_404(org_a, org_b, client_for, rows) -> None:
    """Ids are per schema; an id that exists only in B finds nothing on A's host."""
    from tests.conftest import in_tenant
    from whatsapp.models import Contact, WhatsAppMedia, WhatsAppMessage

    r = rows(org_b)
    media = [r.media(content=MARK.encode()) for _ in range(3)]
    with in_tenant(org_a):
        a_ids = {
            "messages": set(WhatsAppMessage.objects.values_list("id", flat=True)),
            "contacts": set(Contact.objects.values_list("id", flat=True)),
            "media": set(WhatsAppMedia.objects.values_list("id", flat=True)),
        }
    b_ids = {
        "messages": {m.message_id for m in media},
        "contacts": {m.message.contact_id for m in media},
        "media": {m.pk for m in media},
    }
    client = client_for(org_a)
    for kind, suffixes in (
        ("messages", [""]),
        ("contacts", [""]),
        ("media", ["", "download/"]),
    ):
        for pk in b_ids[kind] - a_ids[kind]:
            for suffix in suffixes:
                response = client.get(f"/api/v1/{kind}/{pk}/{suffix}")
                assert response.status_code == 404, (kind, pk, suffix)
                assert MARK not in response.content.decode()


@pytest.mark.parametrize(
    ("route", "pattern"), [pytest.param(r, p, id=p.name) for r, p in PROTECTED]
)
def test_every_api_route_answers_an_own_api_key_without_server_errors(
    org_a, api_key, route, pattern
) -> None:
    client = api_client(org_a, api_key=api_key(org_a))
    for method in _methods(pattern):
        response = getattr(client, method)(_url(route, 999_999), content_type="application/json")
        assert response.status_code < 500, (method, route, response.status_code)
