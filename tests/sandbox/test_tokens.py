"""Tokens: bearer policy, 190 envelope, exchange, app tokens, debug_token, expiry controls."""

from __future__ import annotations

import time

import httpx

from tests.sandbox.conftest import APP_ID, APP_SECRET, PNID, TOKEN, VERSION


def lookup_status(graph: httpx.Client, token: str | None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {"Authorization": ""}
    return graph.get("/999", headers=headers)


def assert_190(response: httpx.Response, subcode: int = 463) -> None:
    assert response.status_code == 401
    error = response.json()["error"]
    assert error["code"] == 190
    assert error["error_subcode"] == subcode
    assert error["type"] == "OAuthException"
    assert error["message"].startswith("Error validating access token")
    assert error["fbtrace_id"]


def test_any_token_works_but_none_does_not(sandbox, graph):
    assert lookup_status(graph, "anything").status_code == 400  # unknown object, not auth
    assert_190(lookup_status(graph, None), 467)
    response = graph.get("/999", headers={"Authorization": ""}, params={"access_token": "tok"})
    assert response.status_code == 400


def test_expire_and_revoke_token(sandbox, graph):
    assert lookup_status(graph, TOKEN).status_code == 400
    sandbox.expire_token(TOKEN)
    assert_190(lookup_status(graph, TOKEN))
    assert lookup_status(graph, "other").status_code == 400
    sandbox.revoke_token("other")
    assert_190(lookup_status(graph, "other"), 467)


def exchange(graph: httpx.Client, token: str, secret: str = APP_SECRET) -> httpx.Response:
    params = {
        "grant_type": "fb_exchange_token",
        "client_id": APP_ID,
        "client_secret": secret,
        "fb_exchange_token": token,
    }
    return graph.get("/oauth/access_token", params=params, headers={"Authorization": ""})


def test_token_exchange(sandbox, graph):
    response = exchange(graph, "short-lived")
    assert response.status_code == 200
    data = response.json()
    assert data["token_type"] == "bearer"
    assert data["expires_in"] == 5183944
    assert lookup_status(graph, data["access_token"]).status_code == 400
    wrong = exchange(graph, "short-lived", secret="nope").json()["error"]
    assert wrong["code"] == 1
    assert wrong["message"] == "Error validating client secret."
    sandbox.expire_token("stale")
    assert_190(exchange(graph, "stale"))
    # The request record never holds the token text.
    record = sandbox.requests(path_contains="oauth")[0]
    assert "short-lived" not in str(record)
    assert APP_SECRET not in str(record)


def test_issued_tokens_expire(sandbox, graph):
    sandbox.update_config(exchanged_token_expires_in=1)
    token = exchange(graph, "short").json()["access_token"]
    assert lookup_status(graph, token).status_code == 400
    short = sandbox.issue_token(expires_in=0.1)
    time.sleep(0.15)
    assert_190(lookup_status(graph, short))


def test_client_credentials_and_debug_token(sandbox, graph):
    params = {"grant_type": "client_credentials", "client_id": APP_ID, "client_secret": APP_SECRET}
    app_token = graph.get("/oauth/access_token", params=params).json()["access_token"]
    assert app_token == f"{APP_ID}|{APP_SECRET}"
    debug = graph.get("/debug_token", params={"input_token": TOKEN, "access_token": app_token})
    data = debug.json()["data"]
    assert data["app_id"] == APP_ID
    assert data["type"] == "SYSTEM_USER"
    assert data["is_valid"] is True
    assert data["expires_at"] == 0
    assert data["scopes"] == ["whatsapp_business_messaging", "whatsapp_business_management"]
    assert {g["scope"] for g in data["granular_scopes"]} == set(data["scopes"])
    for key in ("application", "data_access_expires_at", "issued_at", "user_id"):
        assert key in data
    user_token = exchange(graph, "short").json()["access_token"]
    data = graph.get(
        "/debug_token", params={"input_token": user_token, "access_token": app_token}
    ).json()["data"]
    assert data["type"] == "USER"
    assert data["expires_at"] > time.time()
    sandbox.expire_token(user_token)
    data = graph.get(
        "/debug_token", params={"input_token": user_token, "access_token": app_token}
    ).json()["data"]
    assert data["is_valid"] is False
    assert data["error"]["code"] == 190


def test_expire_tokens_fault_modes(sandbox, graph, sandbox_server):
    assert lookup_status(graph, TOKEN).status_code == 400
    sandbox.add_fault("expire_tokens", mode="known")
    assert_190(lookup_status(graph, TOKEN))
    assert lookup_status(graph, "never-seen-before").status_code == 400
    sandbox.add_fault("expire_tokens", mode="all")
    assert_190(lookup_status(graph, "brand-new-outside-token"))
    # Only tokens the sandbox issues from now on work: the refresh path.
    fresh = exchange_with_app(sandbox_server.url)
    assert lookup_status(graph, fresh).status_code == 400


def exchange_with_app(url: str) -> str:
    token = httpx.post(f"{url}/_sandbox/tokens/issue", json={"expires_in": 60}).json()
    return token["access_token"]


def test_graph_calls_record_token_hash(sandbox, graph):
    graph.post(f"/{PNID}/messages", json={})
    [record] = sandbox.requests(path_contains=f"{VERSION}/{PNID}/messages")
    assert record["has_bearer"] is True
    assert len(record["token_sha256"]) == 12
    assert "authorization" not in record["headers"]
    assert TOKEN not in str(record)
