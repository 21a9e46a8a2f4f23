"""The OpenAPI schema and docs are served on tenant hosts, and the API is fuzzed from its own
schema (schemathesis, small budget): no 500s, every response matches the schema.

The fuzzer calls the WSGI application in-process with the org's Host header and a valid JWT,
inside the test's rolled-back transaction (so requests see the seeded rows and leave nothing).
"""

from __future__ import annotations

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

pytestmark = pytest.mark.django_db

MAX_EXAMPLES = 40
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def test_schema_and_docs_are_public_on_the_org_host(org_a, tenant_client) -> None:
    client = tenant_client(org_a)
    schema = client.get("/api/v1/schema/?format=json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    for path in (
        "/api/v1/messages/",
        "/api/v1/messages/incoming/",
        "/api/v1/messages/outgoing/",
        "/api/v1/messages/{id}/",
        "/api/v1/messages/send/",
        "/api/v1/contacts/",
        "/api/v1/contacts/{id}/",
        "/api/v1/media/",
        "/api/v1/media/{id}/download/",
        "/api/v1/auth/token/",
        "/api/v1/api-keys/",
    ):
        assert path in paths, path
    schemes = schema.json()["components"]["securitySchemes"]
    assert schemes["jwtAuth"]["scheme"] == "bearer"
    assert schemes["apiKeyAuth"]["in"] == "header"
    listing = paths["/api/v1/messages/"]["get"]
    assert {"jwtAuth": []} in listing["security"] and {"apiKeyAuth": []} in listing["security"]
    assert {p["name"] for p in listing["parameters"]} >= {
        "cursor", "page_size", "ordering", "contact", "wa_id", "type", "status", "direction",
        "since", "until", "q",
    }  # fmt: skip
    assert set(listing["responses"]) >= {"200", "400", "401"}
    docs = client.get("/api/v1/docs/")
    assert docs.status_code == 200
    assert b"swagger" in docs.content.lower()


@pytest.fixture
def wsgi_app():
    """The real WSGI app. Like Django's test Client, a request must not close the test's
    connection (it holds the rolled-back transaction), so close_old_connections is detached
    for the duration of each call, response closing included."""
    handler = get_wsgi_application()

    def app(environ, start_response):
        signals.request_started.disconnect(close_old_connections)
        signals.request_finished.disconnect(close_old_connections)
        try:
            response = handler(environ, start_response)
            try:
                return [b"".join(response)]
            finally:
                response.close()
        finally:
            signals.request_started.connect(close_old_connections)
            signals.request_finished.connect(close_old_connections)

    return app


def test_fuzz_the_api_from_its_own_schema(org_a, rows, jwt, tenant_client, wsgi_app) -> None:
    r = rows(org_a)
    for _ in range(3):
        contact = r.contact()
        r.message(contact)
        r.media(r.message(contact, type="image", direction="outgoing", status="sent"))
    raw = tenant_client(org_a).get("/api/v1/schema/?format=json").json()
    schema = schemathesis.openapi.from_dict(raw)
    headers = {"Authorization": f"Bearer {jwt(org_a)}"}
    base_url = f"http://{org_a.host}"
    failures: list[str] = []
    tested = []

    for result in schema.get_all_operations():
        operation = result.ok()
        tested.append(operation.label)

        @given(case=operation.as_strategy())
        @settings(
            max_examples=MAX_EXAMPLES,
            deadline=None,
            database=None,
            derandomize=True,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        def run(case) -> None:
            response = case.call(app=wsgi_app, base_url=base_url, headers=headers)
            case.validate_response(response, checks=CHECKS, headers=headers)

        try:
            run()
        except Exception as exc:  # collect every operation's failure, then fail once
            failures.append(f"{operation.label}: {exc}"[:3000])

    assert len(tested) >= 15
    assert not failures, "\n\n".join(failures)
