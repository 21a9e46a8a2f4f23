"""POST /{version}/{phone_number_id}/messages: every outbound type, validation, templates,
the 24 h window, throughput and mark-as-read."""

from __future__ import annotations

import re

import pytest

from tests.sandbox.conftest import CUSTOMER, PNID

WAMID_RE = re.compile(r"^wamid\.[A-Za-z0-9+/=]+$")

OUTBOUND = {
    "text": {"body": "hello", "preview_url": False},
    "image": {"id": "1234567890", "caption": "a photo"},
    "video": {"link": "https://example.com/v.mp4", "caption": "clip"},
    "audio": {"id": "1234567890"},
    "document": {"link": "https://example.com/a.pdf", "filename": "a.pdf", "caption": "doc"},
    "sticker": {"id": "1234567890"},
    "location": {"latitude": 38.7, "longitude": -9.1, "name": "Lisbon", "address": "PT"},
    "contacts": [
        {
            "name": {"formatted_name": "Ana Silva"},
            "phones": [{"phone": "+15550001", "type": "CELL"}],
        }
    ],
    "reaction": {"message_id": "wamid.ABC", "emoji": "\U0001f44d"},
}
INTERACTIVE = {
    "button": {
        "type": "button",
        "body": {"text": "Pick one"},
        "action": {
            "buttons": [
                {"type": "reply", "reply": {"id": "y", "title": "Yes"}},
                {"type": "reply", "reply": {"id": "n", "title": "No"}},
            ]
        },
    },
    "list": {
        "type": "list",
        "body": {"text": "Menu"},
        "action": {
            "button": "Options",
            "sections": [{"title": "S1", "rows": [{"id": "r1", "title": "Row 1"}]}],
        },
    },
    "cta_url": {
        "type": "cta_url",
        "body": {"text": "Visit"},
        "action": {
            "name": "cta_url",
            "parameters": {"display_text": "Open", "url": "https://example.com"},
        },
    },
    "flow": {
        "type": "flow",
        "body": {"text": "Fill the form"},
        "action": {
            "name": "flow",
            "parameters": {
                "flow_message_version": "3",
                "flow_token": "tok",
                "flow_id": "123",
                "flow_cta": "Start",
                "mode": "published",
                "flow_action": "navigate",
                "flow_action_payload": {"screen": "WELCOME"},
            },
        },
    },
}


def body_for(kind: str, obj, to: str = CUSTOMER) -> dict:
    return {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": to,
        "type": kind,
        kind: obj,
    }


def assert_accepted(response, to: str = CUSTOMER) -> str:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    data = response.json()
    assert data["messaging_product"] == "whatsapp"
    assert data["contacts"] == [{"input": to, "wa_id": to.lstrip("+")}]
    [message] = data["messages"]
    assert set(message) == {"id", "message_status"}
    assert message["message_status"] == "accepted"
    assert WAMID_RE.match(message["id"])
    return message["id"]


def assert_meta_error(response, code: int, status: int = 400, details: str | None = None):
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code
    assert error["type"] == "OAuthException"
    assert error["fbtrace_id"]
    if details is not None:
        assert details in error["error_data"]["details"]
        assert error["error_data"]["messaging_product"] == "whatsapp"
    return error


@pytest.fixture
def open_window(sandbox):
    sandbox.customer_sends_text(PNID, CUSTOMER, "hi")


@pytest.mark.parametrize("kind", sorted(OUTBOUND))
def test_every_basic_type_is_accepted(sandbox, graph, open_window, kind):
    assert_accepted(graph.post(f"/{PNID}/messages", json=body_for(kind, OUTBOUND[kind])))


@pytest.mark.parametrize("kind", sorted(INTERACTIVE))
def test_every_interactive_type_is_accepted(sandbox, graph, open_window, kind):
    response = graph.post(f"/{PNID}/messages", json=body_for("interactive", INTERACTIVE[kind]))
    assert_accepted(response)


def test_wamids_are_unique_and_sends_are_recorded(sandbox, graph, open_window):
    ids = {
        assert_accepted(graph.post(f"/{PNID}/messages", json=body_for("text", {"body": "x"})))
        for _ in range(5)
    }
    assert len(ids) == 5
    assert {m["wamid"] for m in sandbox.sent_messages(PNID)} == ids


def test_bsuid_recipient(sandbox, graph):
    sandbox.customer_sends_text(PNID, None, "hi", user_id="US.13491208655302741918")
    body = body_for("text", {"body": "hi"})
    del body["to"]
    body["recipient"] = "US.13491208655302741918"
    response = graph.post(f"/{PNID}/messages", json=body)
    assert response.status_code == 200, response.text
    assert response.json()["contacts"] == [
        {"input": "US.13491208655302741918", "user_id": "US.13491208655302741918"}
    ]


@pytest.mark.parametrize(
    ("mutate", "details"),
    [
        (lambda b: b.update(messaging_product="sms"), "messaging_product"),
        (lambda b: b.pop("to"), "to"),
        (lambda b: b.update(to="12ab"), "to"),
        (lambda b: b.update(recipient="US.1"), "recipient"),
        (lambda b: b.update(type="carrier_pigeon"), "type"),
        (lambda b: b.pop("text"), "text"),
        (lambda b: b.update(text={}), "text['body']"),
        (lambda b: b.update(text={"body": "x" * 4097}), "text['body']"),
        (lambda b: b.update(type="audio", audio={"id": "1", "caption": "no"}), "caption"),
        (lambda b: b.update(type="sticker", sticker={"id": "1", "caption": "no"}), "caption"),
        (lambda b: b.update(type="image", image={}), "image"),
        (lambda b: b.update(type="reaction", reaction={"emoji": "x"}), "message_id"),
        (lambda b: b.update(type="location", location={"latitude": 1}), "longitude"),
    ],
)
def test_validation_errors_name_the_field(sandbox, graph, open_window, mutate, details):
    body = body_for("text", {"body": "hello"})
    mutate(body)
    assert_meta_error(graph.post(f"/{PNID}/messages", json=body), 100, details=details)


def test_interactive_limits(sandbox, graph, open_window):
    too_many = dict(INTERACTIVE["button"])
    reply = {"type": "reply", "reply": {"id": "a", "title": "A"}}
    too_many["action"] = {"buttons": [reply] * 4}
    response = graph.post(f"/{PNID}/messages", json=body_for("interactive", too_many))
    assert_meta_error(response, 100, details="buttons")
    long_title = dict(INTERACTIVE["button"])
    long_title["action"] = {"buttons": [{"type": "reply", "reply": {"id": "a", "title": "x" * 21}}]}
    response = graph.post(f"/{PNID}/messages", json=body_for("interactive", long_title))
    assert_meta_error(response, 100, details="title")
    big_list = dict(INTERACTIVE["list"])
    rows = [{"id": f"r{i}", "title": f"Row {i}"} for i in range(11)]
    big_list["action"] = {"button": "Options", "sections": [{"title": "S", "rows": rows}]}
    response = graph.post(f"/{PNID}/messages", json=body_for("interactive", big_list))
    assert_meta_error(response, 100, details="rows")


def template_body(name: str = "order_update", language: str = "en_US", components=None) -> dict:
    template = {"name": name, "language": {"code": language, "policy": "deterministic"}}
    template["components"] = (
        components
        if components is not None
        else [{"type": "body", "parameters": [{"type": "text", "text": "Ana"}]}]
    )
    return body_for("template", template)


def test_template_must_exist_and_be_approved(sandbox, graph):
    response = graph.post(f"/{PNID}/messages", json=template_body())
    assert_meta_error(response, 132001)
    sandbox.create_template("order_update", status="PENDING")
    assert_meta_error(graph.post(f"/{PNID}/messages", json=template_body()), 132001)
    sandbox.approve_template("order_update")
    # Templates need no open window.
    assert_accepted(graph.post(f"/{PNID}/messages", json=template_body()))
    response = graph.post(f"/{PNID}/messages", json=template_body(language="pt_BR"))
    assert_meta_error(response, 132001)
    sandbox.pause_template("order_update")
    assert_meta_error(graph.post(f"/{PNID}/messages", json=template_body()), 132015)
    sandbox.set_template_status("order_update", "DISABLED")
    assert_meta_error(graph.post(f"/{PNID}/messages", json=template_body()), 132016)


def test_template_components_must_be_a_list(sandbox, graph):
    sandbox.create_template("order_update")
    body = template_body(components={"type": "body"})
    assert_meta_error(graph.post(f"/{PNID}/messages", json=body), 100, details="components")


def test_registered_number_only_sees_its_wabas_templates(sandbox, graph):
    sandbox.register_phone_number(PNID, display_phone_number="+15550000001", waba_id="999")
    sandbox.create_template("order_update", waba_id="888")
    assert_meta_error(graph.post(f"/{PNID}/messages", json=template_body()), 132001)
    sandbox.create_template("order_update", waba_id="999")
    assert_accepted(graph.post(f"/{PNID}/messages", json=template_body()))


def test_customer_window(sandbox, graph):
    body = body_for("text", {"body": "hello"})
    assert_meta_error(graph.post(f"/{PNID}/messages", json=body), 131047)
    sandbox.customer_sends_text(PNID, CUSTOMER, "hi")
    assert_accepted(graph.post(f"/{PNID}/messages", json=body))
    # The window is per (phone number, customer).
    assert_meta_error(graph.post("/100000000000002/messages", json=body), 131047)
    sandbox.set_window(PNID, CUSTOMER, open=False)
    assert_meta_error(graph.post(f"/{PNID}/messages", json=body), 131047)
    sandbox.set_window_enforcement(False)
    assert_accepted(graph.post(f"/{PNID}/messages", json=body))


def test_the_window_opens_when_the_customer_wrote(sandbox, graph):
    """A message Meta delivers a day late opened the window a day ago: it is closed now."""
    import time

    sandbox.customer_sends_text(PNID, CUSTOMER, "hi", timestamp=time.time() - 25 * 3600)
    body = body_for("text", {"body": "hello"})
    assert_meta_error(graph.post(f"/{PNID}/messages", json=body), 131047)
    sandbox.customer_sends_text(PNID, CUSTOMER, "hi again")
    assert_accepted(graph.post(f"/{PNID}/messages", json=body))


def test_expired_window(sandbox, graph):
    sandbox.customer_sends_text(PNID, CUSTOMER, "hi")
    sandbox.update_config(customer_window_seconds=0.05)
    import time

    time.sleep(0.06)
    body = body_for("text", {"body": "hello"})
    assert_meta_error(graph.post(f"/{PNID}/messages", json=body), 131047)


def test_throughput_limit(sandbox, graph, open_window):
    sandbox.set_rate_limit(PNID, 5)
    body = body_for("text", {"body": "hello"})
    codes = [graph.post(f"/{PNID}/messages", json=body).status_code for _ in range(8)]
    assert codes[:5] == [200] * 5
    error = graph.post(f"/{PNID}/messages", json=body).json()["error"]
    assert error["code"] == 130429
    assert error["message"] == "(#130429) Rate limit hit"
    assert 400 in codes[5:]
    # Other numbers have their own budget (config default).
    sandbox.set_window_enforcement(False)
    assert_accepted(graph.post("/100000000000002/messages", json=body))


def test_mark_as_read_and_typing_indicator(sandbox, graph):
    wamid = sandbox.customer_sends_text(PNID, CUSTOMER, "hi")["message"]["id"]
    read = {"messaging_product": "whatsapp", "status": "read", "message_id": wamid}
    response = graph.post(f"/{PNID}/messages", json=read)
    assert response.status_code == 200
    assert response.json() == {"success": True}
    typing = read | {"typing_indicator": {"type": "text"}}
    assert graph.post(f"/{PNID}/messages", json=typing).json() == {"success": True}
    unknown = read | {"message_id": "wamid.nope"}
    assert_meta_error(graph.post(f"/{PNID}/messages", json=unknown), 131009)
