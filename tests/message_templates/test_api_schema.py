"""The templates API is in the OpenAPI schema, with its filters and methods."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def test_templates_endpoints_and_filters_are_documented(org_a, tenant_client) -> None:
    paths = tenant_client(org_a).get("/api/v1/schema/?format=json").json()["paths"]
    assert set(paths["/api/v1/templates/"]) >= {"get", "post"}
    assert set(paths["/api/v1/templates/{id}/"]) >= {"get", "patch", "delete"}
    assert "post" in paths["/api/v1/templates/sync/"]
    assert "post" in paths["/api/v1/templates/header-handles/"]
    names = {p["name"] for p in paths["/api/v1/templates/"]["get"]["parameters"]}
    assert names >= {"status", "category", "language", "name", "cursor"}
    delete = {p["name"] for p in paths["/api/v1/templates/{id}/"]["delete"]["parameters"]}
    assert "all_languages" in delete
