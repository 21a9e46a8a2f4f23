"""Templates end to end: real HTTP to the API (JWT), the sandbox as Meta (real HTTP), its signed
webhooks through the shared endpoint and the webhook worker, sends through the real Celery
worker; committed rows in the session's two organizations."""

from __future__ import annotations

import httpx
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from tests.clients import admin_client
from tests.conftest import in_tenant
from tests.message_templates.conftest import waba, wait_template
from tests.outbound.conftest import customer, sent_bodies, wait_final

pytestmark = pytest.mark.integration

WA_ID = "15557654321"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
NAMED = {
    "name": "order_ready",
    "language": "en_US",
    "category": "UTILITY",
    "parameter_format": "NAMED",
    "components": [
        {
            "type": "BODY",
            "text": "Hi {{first_name}}, your order {{order_id}} is ready.",
            "example": {
                "body_text_named_params": [
                    {"param_name": "first_name", "example": "Ana"},
                    {"param_name": "order_id", "example": "A-1"},
                ]
            },
        },
        {
            "type": "BUTTONS",
            "buttons": [
                {
                    "type": "URL",
                    "text": "Track",
                    "url": "https://shop.test/t/{{1}}",
                    "example": ["https://shop.test/t/A-1"],
                },
                {"type": "QUICK_REPLY", "text": "Stop"},
            ],
        },
    ],
}
POSITIONAL = {
    "name": "receipt",
    "language": "pt_BR",
    "category": "UTILITY",
    "components": [
        {"type": "HEADER", "format": "IMAGE", "example": {"header_handle": ["set by the test"]}},
        {
            "type": "BODY",
            "text": "Oi {{1}}, total {{2}}.",
            "example": {"body_text": [["Ana", "R$ 10"]]},
        },
    ],
}


def _templates_requests(sandbox, method: str) -> list[dict]:
    return [r for r in sandbox.requests(path_contains="message_templates") if r["method"] == method]


def _send(client, template: dict):
    return client.post(
        "/api/v1/messages/send/",
        {"to": "+" + WA_ID, "type": "template", "template": template},
        "application/json",
    )


def _synced_marketing_promo(sender_a, sandbox) -> tuple[Client, dict]:
    """The MARKETING template `promo` at the sandbox and synced, a customer outside the 24 h
    window; returns the admin's API client and the template part of a send to `promo`."""
    sandbox.create_template("promo", waba_id=waba(sender_a), category="MARKETING")
    client = admin_client(sender_a.org)
    client.post("/api/v1/templates/sync/", {}, "application/json")
    customer(sender_a, WA_ID, window=False)
    return client, {"name": "promo", "language": "en_US", "parameters": ["Ana"]}


def test_create_review_approve_by_webhook_then_send_named_and_positional(
    sender_a, sandbox, celery_worker
):
    client = admin_client(sender_a.org)
    png = SimpleUploadedFile("r.png", PNG, content_type="image/png")
    uploaded = client.post("/api/v1/templates/header-handles/", {"format": "IMAGE", "file": png})
    assert uploaded.status_code == 201, uploaded.content
    handle = uploaded.json()["handle"]
    POSITIONAL["components"][0]["example"]["header_handle"] = [handle]
    created = []
    for definition in (NAMED, POSITIONAL):
        response = client.post("/api/v1/templates/", definition, "application/json")
        assert response.status_code == 201, response.content
        assert response.json()["status"] == "PENDING"
        created.append(response.json())
    assert {t["name"]: t["status"] for t in sandbox.templates(waba(sender_a))} == {
        "order_ready": "PENDING",
        "receipt": "PENDING",
    }
    # Not approved yet: refused before anything is stored or queued.
    early = _send(client, {"name": "receipt", "language": "pt_BR", "parameters": ["Ana", "1"]})
    assert early.status_code == 409 and early.json()["error"]["code"] == "template_not_approved"
    assert "review" in early.json()["error"]["message"]

    for name in ("order_ready", "receipt"):
        sandbox.approve_template(name, waba_id=waba(sender_a))
        wait_template(sender_a.org, lambda t: t.status == "APPROVED", name=name)

    customer(sender_a, WA_ID, window=False)  # a template may go outside the 24-hour window
    named = _send(
        client,
        {
            "name": "order_ready",
            "language": "en_US",
            "parameters": {"first_name": "Ana", "order_id": "A-7"},
            "buttons": [{"index": 0, "url_suffix": "A-7"}, {"index": 1, "payload": "STOP-7"}],
        },
    )
    positional = _send(
        client,
        {
            "name": "receipt",
            "language": "pt_BR",
            "parameters": ["Ana", "R$ 12"],
            "header": {"type": "image", "image": {"link": "https://cdn.test/r.png"}},
        },
    )
    assert named.status_code == 202, named.content
    assert positional.status_code == 202, positional.content
    messages = wait_final(sender_a.org, [named.json()["id"], positional.json()["id"]])
    assert [m.status for m in messages] == ["accepted", "accepted"], [
        (m.error_code, m.error_message) for m in messages
    ]
    bodies = {
        b["template"]["name"]: b["template"] for b in sent_bodies(sandbox, sender_a.phone_number_id)
    }
    assert bodies["order_ready"]["components"] == [
        {
            "type": "body",
            "parameters": [
                {"type": "text", "text": "Ana", "parameter_name": "first_name"},
                {"type": "text", "text": "A-7", "parameter_name": "order_id"},
            ],
        },
        {
            "type": "button",
            "sub_type": "url",
            "index": "0",
            "parameters": [{"type": "text", "text": "A-7"}],
        },
        {
            "type": "button",
            "sub_type": "quick_reply",
            "index": "1",
            "parameters": [{"type": "payload", "payload": "STOP-7"}],
        },
    ]
    assert bodies["receipt"]["language"]["code"] == "pt_BR"
    assert bodies["receipt"]["components"] == [
        {
            "type": "header",
            "parameters": [{"type": "image", "image": {"link": "https://cdn.test/r.png"}}],
        },
        {
            "type": "body",
            "parameters": [{"type": "text", "text": "Ana"}, {"type": "text", "text": "R$ 12"}],
        },
    ]


def test_local_errors_name_the_field_and_reach_neither_meta_nor_the_queue(sender_a, sandbox):
    from whatsapp.models import WhatsAppMessage

    client = admin_client(sender_a.org)
    bad = dict(NAMED, name="Order Ready")
    response = client.post("/api/v1/templates/", bad, "application/json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "template_invalid"
    assert list(response.json()["error"]["fields"]) == ["name"]
    mixed = dict(NAMED, components=[{"type": "BODY", "text": "a {{1}} b {{name}} c"}])
    response = client.post("/api/v1/templates/", mixed, "application/json")
    assert response.status_code == 400
    assert (
        "Do not mix numbered ({{1}}) and named ({{name}}) variables."
        in (response.json()["error"]["fields"]["components[0].text"])
    )
    assert _templates_requests(sandbox, "POST") == []

    sandbox.create_template(
        "order_ready",
        waba_id=waba(sender_a),
        parameter_format="NAMED",
        components=NAMED["components"],
    )
    assert client.post("/api/v1/templates/sync/", {}, "application/json").status_code == 200
    cases = [
        (
            {"parameters": {"first_name": "Ana"}, "buttons": [{"index": 0, "url_suffix": "x"}]},
            "template.parameters.order_id",
        ),
        ({"parameters": ["Ana", "A-1"]}, "template.parameters"),
        (
            {
                "parameters": {"first_name": "  ", "order_id": "1"},
                "buttons": [{"index": 0, "url_suffix": "x"}],
            },
            "template.parameters.first_name",
        ),
        ({"parameters": {"first_name": "A", "order_id": "1"}}, "template.buttons[0].url_suffix"),
    ]
    for extra, field in cases:
        response = _send(client, {"name": "order_ready", "language": "en_US", **extra})
        assert response.status_code == 400, response.content
        assert list(response.json()["error"]["fields"]) == [field]
    missing = _send(client, {"name": "order_ready", "language": "fr", "parameters": {}})
    assert missing.status_code == 404
    with in_tenant(sender_a.org):
        assert not WhatsAppMessage.objects.exists()


def test_sync_follows_every_page_marks_deleted_and_backs_off(sender_a, sandbox, settings):
    settings.WHATSAPP_TEMPLATE_SYNC_PAGE_SIZE = 3
    for index in range(7):
        sandbox.create_template(f"t_{index}", waba_id=waba(sender_a), category="MARKETING")
    client = admin_client(sender_a.org)
    response = client.post("/api/v1/templates/sync/", {}, "application/json")
    assert response.status_code == 200, response.content
    assert response.json() | {"wabas": None} == {
        "wabas": None,
        "created": 7,
        "updated": 0,
        "deleted_at_meta": 0,
    }
    assert len(_templates_requests(sandbox, "GET")) == 3  # 3 + 3 + 1
    listed = client.get("/api/v1/templates/", {"name": "t_", "status": "APPROVED"}).json()
    assert len(listed["results"]) == 7

    # Deleted at Meta by someone else: marked, not dropped.
    httpx.delete(
        f"{sandbox.base_url}/v25.0/{waba(sender_a)}/message_templates",
        params={"name": "t_3"},
        headers={"Authorization": "Bearer someone-else"},
    ).raise_for_status()
    sandbox.add_fault("error_code", code=80007, path_regex="message_templates")
    limited = client.post("/api/v1/templates/sync/", {}, "application/json")
    assert limited.status_code == 429
    assert limited.json()["error"]["code"] == "meta_rate_limited"
    again = client.post("/api/v1/templates/sync/", {}, "application/json").json()
    assert (again["updated"], again["deleted_at_meta"]) == (6, 1)
    gone = client.get("/api/v1/templates/", {"deleted_at_meta": "true"}).json()["results"]
    assert [t["name"] for t in gone] == ["t_3"]
    detail = client.get(f"/api/v1/templates/{gone[0]['id']}/").json()
    assert detail["notices"][0]["kind"] == "deleted_at_meta"


def test_paused_template_refused_locally_then_unpaused_by_webhook(sender_a, sandbox, celery_worker):
    client, template = _synced_marketing_promo(sender_a, sandbox)

    sandbox.set_template_quality("promo", "RED", waba_id=waba(sender_a))
    sandbox.set_template_status(
        "promo",
        "PAUSED",
        waba_id=waba(sender_a),
        other_info={"title": "FIRST_PAUSE", "description": "Low quality"},
    )
    # Meta's webhooks come in any order: wait for both.
    paused = wait_template(
        sender_a.org, lambda t: t.status == "PAUSED" and t.quality_score == "RED", name="promo"
    )
    refused = _send(client, template)
    assert refused.status_code == 409
    assert "paused" in refused.json()["error"]["message"]

    sandbox.set_template_status(
        "promo",
        "APPROVED",
        waba_id=waba(sender_a),
        other_info={"title": "UNPAUSE", "description": "Quality improved"},
    )
    wait_template(sender_a.org, lambda t: t.status == "APPROVED", name="promo")
    accepted = _send(client, template)
    assert accepted.status_code == 202, accepted.content
    assert wait_final(sender_a.org, [accepted.json()["id"]])[0].status == "accepted"

    detail = client.get(f"/api/v1/templates/{paused.pk}/").json()
    assert [p["event"] for p in detail["pause_history"]] == ["PAUSED", "UNPAUSED"]
    notices = {n["kind"]: n["message"] for n in detail["notices"]}
    assert detail["notices"][0]["kind"] == "unpaused"
    assert set(notices) == {"unpaused", "paused", "quality"}
    assert "3 hours" in notices["paused"]


def test_a_reinstated_template_is_stored_approved_and_sends_again(sender_a, sandbox, celery_worker):
    """Meta's REINSTATED (a disabled template approved again) means sendable: the webhook
    stores it APPROVED, the send API takes it, and the notice says what happened."""
    client, template = _synced_marketing_promo(sender_a, sandbox)
    sandbox.set_template_status("promo", "DISABLED", waba_id=waba(sender_a))
    disabled = wait_template(sender_a.org, lambda t: t.status == "DISABLED", name="promo")
    assert _send(client, template).status_code == 409

    sandbox.set_template_status("promo", "REINSTATED", waba_id=waba(sender_a))
    wait_template(sender_a.org, lambda t: t.status == "APPROVED", name="promo")
    accepted = _send(client, template)
    assert accepted.status_code == 202, accepted.content
    assert wait_final(sender_a.org, [accepted.json()["id"]])[0].status == "accepted"
    detail = client.get(f"/api/v1/templates/{disabled.pk}/").json()
    assert detail["status"] == "APPROVED"
    assert "reinstated" in detail["notices"][0]["message"]


def test_rejection_and_category_change_leave_notices(sender_a, sandbox):
    client = admin_client(sender_a.org)
    created = client.post("/api/v1/templates/", NAMED, "application/json").json()
    sandbox.reject_template(
        "order_ready",
        waba_id=waba(sender_a),
        reason="INVALID_FORMAT",
        rejection_info={"reason": "Bad variables", "recommendation": "Add examples"},
    )
    rejected = wait_template(sender_a.org, lambda t: t.status == "REJECTED", pk=created["id"])
    assert (rejected.rejection_reason, rejected.rejection_recommendation) == (
        "Bad variables",
        "Add examples",
    )
    refused = _send(client, {"name": "order_ready", "language": "en_US", "parameters": {}})
    assert refused.status_code == 409 and "Bad variables" in refused.json()["error"]["message"]

    sandbox.approve_template("order_ready", waba_id=waba(sender_a))
    wait_template(sender_a.org, lambda t: t.status == "APPROVED", pk=created["id"])
    sandbox.set_template_category(
        "order_ready", "MARKETING", waba_id=waba(sender_a), announce_at=1900000000
    )
    announced = wait_template(sender_a.org, lambda t: t.announced_category, pk=created["id"])
    assert announced.category == "UTILITY" and announced.announced_category == "MARKETING"
    assert announced.category_change_at.timestamp() == 1900000000
    sandbox.set_template_category("order_ready", "MARKETING", waba_id=waba(sender_a))
    done = wait_template(sender_a.org, lambda t: t.category == "MARKETING", pk=created["id"])
    assert (done.previous_category, done.announced_category) == ("UTILITY", "")
    notices = client.get(f"/api/v1/templates/{created['id']}/").json()["notices"]
    assert [n["kind"] for n in notices] == [
        "category_changed",
        "category_announced",
        "approved",
        "rejected",
    ]
    assert "price" in notices[1]["message"]
    assert "Add examples" in notices[3]["message"]


def test_another_organizations_templates_are_invisible_and_untouchable(sender_a, sender_b, sandbox):
    sandbox.create_template("a_only", waba_id=waba(sender_a))
    client_a, client_b = admin_client(sender_a.org), admin_client(sender_b.org)
    client_a.post("/api/v1/templates/sync/", {}, "application/json")
    [template] = client_a.get("/api/v1/templates/").json()["results"]
    assert client_b.post("/api/v1/templates/sync/", {}, "application/json").json()["created"] == 0
    assert client_b.get("/api/v1/templates/").json()["results"] == []
    assert client_b.get(f"/api/v1/templates/{template['id']}/").status_code == 404
    assert client_b.delete(f"/api/v1/templates/{template['id']}/").status_code == 404
    refused = client_b.post(
        "/api/v1/messages/send/",
        {
            "to": WA_ID,
            "type": "template",
            "template": {"name": "a_only", "language": "en_US", "parameters": ["x"]},
        },
        "application/json",
    )
    assert refused.status_code == 404
    # A's webhook reaches A only.
    sandbox.pause_template("a_only", waba_id=waba(sender_a))
    wait_template(sender_a.org, lambda t: t.status == "PAUSED", name="a_only")
    assert client_b.get("/api/v1/templates/").json()["results"] == []
    assert client_a.delete(f"/api/v1/templates/{template['id']}/").status_code == 204
    assert sandbox.templates(waba(sender_a)) == []


def test_edit_goes_back_to_review_and_delete_takes_one_language_or_all(sender_a, sandbox):
    for language in ("en_US", "es", "pt_BR"):
        sandbox.create_template("welcome", waba_id=waba(sender_a), language=language)
    client = admin_client(sender_a.org)
    client.post("/api/v1/templates/sync/", {}, "application/json")
    rows = {t["language"]: t for t in client.get("/api/v1/templates/").json()["results"]}
    en = rows["en_US"]["id"]

    bad = client.patch(
        f"/api/v1/templates/{en}/",
        {"components": [{"type": "BODY", "text": "{{1}} starts"}]},
        "application/json",
    )
    assert bad.status_code == 400 and "components[0].text" in bad.json()["error"]["fields"]
    body = {"type": "BODY", "text": "Welcome back, {{1}}!", "example": {"body_text": [["Ana"]]}}
    edited = client.patch(f"/api/v1/templates/{en}/", {"components": [body]}, "application/json")
    assert edited.status_code == 200, edited.content
    assert edited.json()["status"] == "PENDING"
    at_meta = {t["language"]: t for t in sandbox.templates(waba(sender_a))}
    assert at_meta["en_US"]["components"] == [body] and at_meta["en_US"]["status"] == "PENDING"
    sandbox.approve_template("welcome", waba_id=waba(sender_a), language="en_US")
    wait_template(sender_a.org, lambda t: t.status == "APPROVED", pk=en)

    assert client.delete(f"/api/v1/templates/{rows['es']['id']}/").status_code == 204
    assert sorted(t["language"] for t in sandbox.templates(waba(sender_a))) == ["en_US", "pt_BR"]
    everything = client.delete(f"/api/v1/templates/{en}/?all_languages=true")
    assert everything.status_code == 204
    assert sandbox.templates(waba(sender_a)) == []
    assert client.get("/api/v1/templates/").json()["results"] == []


def test_an_approval_webhook_that_beats_the_create_answer_is_not_lost(sender_a, sandbox):
    """Meta's review can be quicker than its answer to the create: the stored template must
    end APPROVED, not stuck PENDING (the classic "templates stuck in PENDING")."""
    sandbox.update_config(auto_approve_templates=True)
    sandbox.add_fault("slow_after_accept", ms=2000, path_regex="message_templates", method="POST")
    client = admin_client(sender_a.org)
    response = client.post("/api/v1/templates/", NAMED, "application/json")
    assert response.status_code == 201, response.content
    assert response.json()["components"] == NAMED["components"]
    # The approval webhook was sent during the slow answer; whether the webhook worker applied
    # it before or after the answer was stored depends on the machine's load, so the answer may
    # still say PENDING. Either way the stored template must end APPROVED.
    assert response.json()["status"] in {"PENDING", "APPROVED"}
    template = wait_template(sender_a.org, lambda row: row.status == "APPROVED", name=NAMED["name"])
    assert template.status == "APPROVED"
    assert client.get(f"/api/v1/templates/{response.json()['id']}/").json()["status"] == "APPROVED"
