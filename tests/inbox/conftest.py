"""Fixtures of the inbox pages: signed-in clients of an organization's host, Meta payloads."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.test import Client

from tests.conftest import PASSWORD

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "meta"


@pytest.fixture
def member_client(db):
    """`member_client(org)`: a client on `org`'s host signed in (through its /login/ page,
    which binds the session to the host) as its admin."""

    def make(org) -> Client:
        client = Client(HTTP_HOST=org.host)
        response = client.post("/login/", {"username": org.admin_email, "password": PASSWORD})
        assert response.status_code == 302, "sign-in failed"
        return client

    return make


def meta_value(name: str) -> dict:
    """The `value` of the first change of a Meta webhook payload in tests/fixtures/meta/."""
    payload = json.loads((FIXTURES / f"{name}.json").read_text())
    return payload["entry"][0]["changes"][0]["value"]
