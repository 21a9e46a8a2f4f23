"""Unit tests of GraphClient's token endpoints (Meta: access tokens; fb_exchange_token,
debug_token) and template endpoints (Meta: message templates reference; cursor paging, create,
delete). The HTTP boundary is faked with `httpx.MockTransport` (see fakes.py); no network, no
Django.

Meta pages:
- access tokens: https://developers.facebook.com/documentation/business-messaging/whatsapp/access-tokens/
- message templates reference: https://developers.facebook.com/docs/graph-api/reference/whats-app-business-hsm/
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import httpx

from .fakes import TOKEN

APP_SECRET = "appsecret0123456789abcdef"
SHORT = "EAAGshortlivedSECRET42"
LONG = "EAAGlonglivedSECRET99"


def test_exchange_token_uses_no_bearer_and_parses_expiry(make_client):
    body = {"access_token": LONG, "token_type": "bearer", "expires_in": 5183944}
    client, fake = make_client(lambda request: httpx.Response(200, json=body))
    token = client.exchange_token(app_id="100001", app_secret=APP_SECRET, short_lived_token=SHORT)
    request = fake.requests[0]
    assert "authorization" not in request.headers
    assert request.url.path == "/v25.0/oauth/access_token"
    assert dict(request.url.params) == {
        "grant_type": "fb_exchange_token",
        "client_id": "100001",
        "client_secret": APP_SECRET,
        "fb_exchange_token": SHORT,
    }
    assert token.access_token == LONG
    assert token.expires_in == 5183944
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert token.expires_at(now) == datetime(2026, 3, 1, 23, 59, 4, tzinfo=UTC)
    assert LONG not in repr(token)
    assert "access_token" not in token.raw


def test_exchange_token_without_expiry(make_client):
    client, _ = make_client(lambda request: httpx.Response(200, json={"access_token": LONG}))
    token = client.exchange_token(app_id="1", app_secret=APP_SECRET, short_lived_token=SHORT)
    assert token.expires_in is None
    assert token.expires_at() is None


def test_debug_token(make_client):
    body = {
        "data": {
            "app_id": "100001",
            "type": "SYSTEM_USER",
            "application": "SaaS",
            "is_valid": True,
            "expires_at": 0,
            "data_access_expires_at": 1767225600,
            "scopes": ["whatsapp_business_messaging", "whatsapp_business_management"],
            "granular_scopes": [
                {"scope": "whatsapp_business_management", "target_ids": ["2001", "2002"]}
            ],
            "user_id": "9001",
            "new_field_meta_added": 1,
        }
    }
    client, fake = make_client(lambda request: httpx.Response(200, json=body))
    info = client.debug_token(input_token=LONG, app_token=f"100001|{APP_SECRET}")
    request = fake.requests[0]
    assert request.url.path == "/v25.0/debug_token"
    assert request.url.params["input_token"] == LONG
    assert request.url.params["access_token"] == f"100001|{APP_SECRET}"
    assert "authorization" not in request.headers
    assert info.is_valid is True
    assert info.expires_at is None  # 0 = never
    assert info.data_access_expires_at == datetime(2026, 1, 1, tzinfo=UTC)
    assert info.scopes == ("whatsapp_business_messaging", "whatsapp_business_management")
    assert (info.app_id, info.type, info.user_id) == ("100001", "SYSTEM_USER", "9001")
    assert info.target_ids("whatsapp_business_management") == ("2001", "2002")
    assert info.raw["new_field_meta_added"] == 1


def test_debug_token_expiry_is_aware_utc(make_client):
    body = {"data": {"is_valid": False, "expires_at": 1767225600, "scopes": []}}
    client, _ = make_client(lambda request: httpx.Response(200, json=body))
    info = client.debug_token(input_token=LONG, app_token="a|b")
    assert info.is_valid is False
    assert info.expires_at == datetime(2026, 1, 1, tzinfo=UTC)


def _template(i: int) -> dict[str, object]:
    return {
        "id": str(i),
        "name": f"tpl_{i}",
        "language": "en_US",
        "status": "APPROVED" if i % 2 else "SOME_NEW_STATUS",
        "category": "UTILITY",
        "components": [{"type": "BODY", "text": "Hi {{1}}"}],
    }


def test_list_templates_follows_cursors_until_next_is_absent(make_client):
    pages = {
        None: ([_template(1), _template(2)], "CUR1"),
        "CUR1": ([_template(3)], "CUR2"),
        "CUR2": ([_template(4)], None),
    }

    def handler(request: httpx.Request) -> httpx.Response:
        items, after = pages[request.url.params.get("after")]
        body: dict[str, object] = {"data": items, "paging": {"cursors": {"before": "B"}}}
        if after:
            # Meta's `next` embeds the token; the client must not follow it as is.
            body["paging"] = {
                "cursors": {"before": "B", "after": after},
                "next": f"https://graph.test/v25.0/2001/message_templates?access_token={TOKEN}"
                f"&limit=2&after={after}",
            }
        return httpx.Response(200, json=body)

    client, fake = make_client(handler)
    templates = client.list_templates("2001", limit=2, status="APPROVED")
    assert [t.name for t in templates] == ["tpl_1", "tpl_2", "tpl_3", "tpl_4"]
    assert templates[1].status == "SOME_NEW_STATUS"
    assert templates[0].components[0]["text"] == "Hi {{1}}"
    assert [r.url.params.get("after") for r in fake.requests] == [None, "CUR1", "CUR2"]
    for request in fake.requests:
        assert "access_token" not in request.url.params
        assert request.url.params["status"] == "APPROVED"
        assert request.url.params["limit"] == "2"
        assert request.headers["authorization"] == f"Bearer {TOKEN}"


def test_list_templates_stops_on_a_repeated_cursor(make_client):
    body = {
        "data": [_template(1)],
        "paging": {"cursors": {"after": "SAME"}, "next": "x?after=SAME"},
    }
    client, fake = make_client(lambda request: httpx.Response(200, json=body))
    assert len(client.list_templates("2001")) == 2
    assert len(fake.requests) == 2


def test_create_and_delete_template(make_client):
    created = {"id": "594425479261596", "status": "PENDING", "category": "MARKETING"}

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            return httpx.Response(200, json=created)
        return httpx.Response(200, json={"success": True})

    client, fake = make_client(handler)
    payload = {"name": "promo", "language": "en_US", "category": "MARKETING", "components": []}
    assert client.create_template("2001", payload) == created
    assert json.loads(fake.requests[0].content) == payload
    client.delete_template("2001", "promo", hsm_id="594425479261596")
    delete = fake.requests[1]
    assert delete.method == "DELETE"
    assert delete.url.path == "/v25.0/2001/message_templates"
    assert dict(delete.url.params) == {"name": "promo", "hsm_id": "594425479261596"}
