"""Embedded Signup in the sandbox: popup page, code exchange, granular scopes, app subscription
(plain before override), registration with a PIN and its refusals, health, account_update."""

from __future__ import annotations

import pytest

from tests.sandbox.conftest import APP_ID, APP_SECRET, wait_until


def exchange(graph, code: str):
    return graph.get(
        "/oauth/access_token",
        params={"client_id": APP_ID, "client_secret": APP_SECRET, "code": code},
        headers={"Authorization": ""},
    )


def business_token(sandbox, graph, **spec) -> tuple[dict, str]:
    signup = sandbox.signup_code(**spec)
    answer = exchange(graph, signup["code"])
    assert answer.status_code == 200, answer.text
    return signup, answer.json()["access_token"]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_popup_page_posts_finish_and_code_to_the_opener(sandbox, sandbox_server):
    import httpx

    page = httpx.get(
        f"{sandbox_server.url}/_sandbox/signup", params={"origin": "http://acme.localhost:8000"}
    )
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert '"WA_EMBEDDED_SIGNUP"' in page.text and "FINISH" in page.text
    assert '"http://acme.localhost:8000"' in page.text
    bad = httpx.get(f"{sandbox_server.url}/_sandbox/signup", params={"origin": "javascript:x"})
    assert bad.status_code == 400


def test_code_exchanges_once_for_a_token_scoped_to_the_waba(sandbox, graph):
    signup, token = business_token(sandbox, graph)
    again = exchange(graph, signup["code"])
    assert again.status_code == 400
    assert again.json()["error"]["error_subcode"] == 36009
    assert exchange(graph, "AQnonsense").json()["error"]["code"] == 100
    info = graph.get(
        "/debug_token",
        params={"input_token": token, "access_token": f"{APP_ID}|{APP_SECRET}"},
        headers={"Authorization": ""},
    ).json()["data"]
    assert info["is_valid"] and info["expires_at"] == 0
    targets = {g["scope"]: g["target_ids"] for g in info["granular_scopes"]}
    assert targets["whatsapp_business_management"] == [signup["waba_id"]]


def test_code_expires(sandbox, graph):
    sandbox.update_config(signup_code_ttl=0)
    answer = exchange(graph, sandbox.signup_code()["code"])
    assert answer.json()["error"]["message"] == "This authorization code has expired."


def test_missing_waba_scope_then_permission_error(sandbox, graph):
    sandbox.update_config(signup_grant_waba_scope=False)
    signup, token = business_token(sandbox, graph)
    info = graph.get(
        "/debug_token",
        params={"input_token": token, "access_token": f"{APP_ID}|{APP_SECRET}"},
        headers={"Authorization": ""},
    ).json()["data"]
    assert all(g["target_ids"] == [] for g in info["granular_scopes"])
    refused = graph.post(f"/{signup['waba_id']}/subscribed_apps", headers=bearer(token))
    assert refused.status_code == 403 and refused.json()["error"]["code"] == 200


def test_override_needs_a_plain_subscription_first(sandbox, graph):
    signup, token = business_token(sandbox, graph)
    waba = signup["waba_id"]
    override = {"override_callback_uri": "https://example.com/hook", "verify_token": "v"}
    early = graph.post(f"/{waba}/subscribed_apps", headers=bearer(token), json=override)
    assert early.status_code == 400 and early.json()["error"]["code"] == 100
    assert graph.get(f"/{waba}/subscribed_apps", headers=bearer(token)).json() == {"data": []}
    assert graph.post(f"/{waba}/subscribed_apps", headers=bearer(token)).json() == {"success": True}
    assert graph.post(f"/{waba}/subscribed_apps", headers=bearer(token), json=override).is_success
    apps = graph.get(f"/{waba}/subscribed_apps", headers=bearer(token)).json()["data"]
    assert apps[0]["override_callback_uri"] == "https://example.com/hook"
    assert apps[0]["whatsapp_business_api_data"]["id"] == APP_ID
    assert sandbox.subscriptions()[waba]["override_callback_uri"] == "https://example.com/hook"


def test_register_sets_the_pin_sends_account_update_and_refuses_another_pin(sandbox, graph):
    signup, token = business_token(sandbox, graph)
    pnid = signup["phone_number_id"]
    health = graph.get(f"/{pnid}", headers=bearer(token)).json()
    assert health["status"] == "PENDING" and health["platform_type"] == "NOT_APPLICABLE"
    body = {"messaging_product": "whatsapp", "pin": "12345"}
    assert graph.post(f"/{pnid}/register", headers=bearer(token), json=body).status_code == 400
    body["pin"] = "123456"
    assert graph.post(f"/{pnid}/register", headers=bearer(token), json=body).json() == {
        "success": True
    }
    deliveries = wait_until(
        lambda: [d for d in sandbox.deliveries() if d["kind"] == "account_update"]
    )
    assert len(deliveries) == 1
    assert graph.post(f"/{pnid}/register", headers=bearer(token), json=body).is_success
    wrong = graph.post(
        f"/{pnid}/register", headers=bearer(token), json=body | {"pin": "654321"}
    ).json()["error"]
    assert wrong["code"] == 133005
    fields = graph.get(
        f"/{pnid}", headers=bearer(token), params={"fields": "status,throughput"}
    ).json()
    assert fields == {"id": pnid, "status": "CONNECTED", "throughput": {"level": "STANDARD"}}
    assert len([d for d in sandbox.deliveries() if d["kind"] == "account_update"]) == 1


@pytest.mark.parametrize("code", [133015, 133016])
def test_register_refusals_by_fault(sandbox, graph, code):
    signup, token = business_token(sandbox, graph)
    pnid = signup["phone_number_id"]
    sandbox.add_fault("error_code", code=code, path_regex="/register$")
    body = {"messaging_product": "whatsapp", "pin": "123456"}
    refused = graph.post(f"/{pnid}/register", headers=bearer(token), json=body)
    assert refused.json()["error"]["code"] == code
    assert graph.post(f"/{pnid}/register", headers=bearer(token), json=body).is_success


def test_number_in_review_is_reported_in_health(sandbox, graph):
    signup, token = business_token(sandbox, graph)
    pnid = signup["phone_number_id"]
    sandbox.set_number_health(pnid, name_status="pending_review", quality_rating="yellow")
    health = graph.get(f"/{pnid}", headers=bearer(token)).json()
    assert health["name_status"] == "PENDING_REVIEW" and health["quality_rating"] == "YELLOW"


def test_new_waba_has_hello_world_template(sandbox, graph):
    signup, _ = business_token(sandbox, graph)
    names = [t["name"] for t in sandbox.templates(signup["waba_id"])]
    assert names == ["hello_world"]
