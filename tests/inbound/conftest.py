"""Fixtures of the inbound tests: Meta payload fixtures, signed posting, connected numbers, the
sandbox (a real HTTP Meta simulator on a loopback port) and polling helpers.

Integration tests use `live_db` (committed rows: the platform server, the Celery worker and the
sandbox run in other threads) and the session's real Celery worker.

Meta pages:
- webhook payload signature: https://developers.facebook.com/docs/graph-api/webhooks/getting-started#validate-payloads
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import OrgFixture
from whatsapp.webhooks.receive import sign_body

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "meta"
# The ids the fixture files use; tests connect them to the session orgs.
FIXTURE_NUMBER_ID = "106540352242922"
FIXTURE_WABA_ID = "102290129340398"
OTHER_NUMBER_ID = "106540352249999"
OTHER_WABA_ID = "102290129340999"
TOKENS = {"alpha": "EAAinbound-alpha-token-0001", "beta": "EAAinbound-beta-token-0002"}

MESSAGE_FIXTURES = sorted(p.stem for p in FIXTURES.glob("message_*.json"))
STATUS_FIXTURES = sorted(p.stem for p in FIXTURES.glob("status_*.json"))


def load(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def first_value(payload: dict[str, Any]) -> dict[str, Any]:
    return payload["entry"][0]["changes"][0]["value"]


def retarget(payload: dict[str, Any], *, phone_number_id: str, waba_id: str) -> dict[str, Any]:
    """A copy of a fixture addressed to another number (and WABA)."""
    payload = copy.deepcopy(payload)
    for entry in payload["entry"]:
        entry["id"] = waba_id
        for change in entry["changes"]:
            metadata = change["value"].get("metadata")
            if isinstance(metadata, dict):
                metadata["phone_number_id"] = phone_number_id
    return payload


def encode(payload: Any) -> bytes:
    """Meta's encoding: compact JSON with non-ASCII escaped as \\uXXXX (Meta: webhook
    payload signature)."""
    return json.dumps(payload, separators=(",", ":")).encode()


def signed_headers(body: bytes, secret: str | None = None) -> dict[str, str]:
    return {"Content-Type": "application/json", "X-Hub-Signature-256": sign_body(body, secret)}


@dataclass(frozen=True)
class Poster:
    """Posts to the platform's shared webhook over real HTTP (the public host, by address)."""

    url: str

    def post(
        self, payload: Any = None, *, body: bytes | None = None, headers: dict | None = None
    ) -> httpx.Response:
        body = encode(payload) if body is None else body
        headers = signed_headers(body) if headers is None else headers
        return httpx.post(self.url, content=body, headers=headers, timeout=10)


@pytest.fixture
def webhook(platform_server) -> Poster:
    return Poster(url=f"{platform_server.url}/webhooks/whatsapp/")


def connect_number(
    org: OrgFixture, *, phone_number_id: str, waba_id: str, display: str = "+1 555 078 3881"
):
    """Connect a number to `org` through the routing service, with an access token."""
    from tenants.services.routing import phone_number_connect

    return phone_number_connect(
        organization=org.organization,
        phone_number_id=phone_number_id,
        waba_id=waba_id,
        display_number=display,
        access_token=TOKENS[org.organization.slug],
    )


@pytest.fixture
def numbers(live_db, org_a, org_b) -> dict[str, str]:
    """The fixtures' number belongs to alpha, the 'other' number to beta (committed)."""
    connect_number(org_a, phone_number_id=FIXTURE_NUMBER_ID, waba_id=FIXTURE_WABA_ID)
    connect_number(
        org_b, phone_number_id=OTHER_NUMBER_ID, waba_id=OTHER_WABA_ID, display="+1 555 000 9999"
    )
    return {"alpha": FIXTURE_NUMBER_ID, "beta": OTHER_NUMBER_ID}
