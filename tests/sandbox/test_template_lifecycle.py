"""The sandbox's template review, triggers and send-time component checks (Meta: sending
message templates; template webhooks; error codes)."""

from __future__ import annotations

import httpx

from tests.sandbox.conftest import wait_until

WABA = "200000000000009"
PNID = "300000000000009"
TO = "15551234567"


def _changes(receiver, field: str) -> list[dict]:
    return [
        change["value"]
        for payload in receiver.payloads()
        for entry in payload["entry"]
        for change in entry["changes"]
        if change["field"] == field
    ]


def _send(graph: httpx.Client, template: dict) -> httpx.Response:
    body = {"messaging_product": "whatsapp", "to": TO, "type": "template", "template": template}
    return graph.post(f"/{PNID}/messages", json=body)


def test_reject_names_are_rejected_with_metas_reason_and_recommendation(sandbox, graph, receiver):
    body = {
        "name": "reject_me",
        "language": "en_US",
        "category": "UTILITY",
        "components": [{"type": "BODY", "text": "Hi"}],
    }
    assert graph.post(f"/{WABA}/message_templates", json=body).json()["status"] == "PENDING"
    [value] = wait_until(lambda: _changes(receiver, "message_template_status_update"))
    assert value["event"] == "REJECTED" and value["reason"] == "INVALID_FORMAT"
    assert value["rejection_info"]["recommendation"]


def test_quality_pause_and_category_triggers_send_metas_webhooks(sandbox, graph, receiver):
    sandbox.create_template("promo", waba_id=WABA, category="UTILITY")
    sandbox.set_template_quality("promo", "RED", waba_id=WABA)
    sandbox.set_template_status(
        "promo", "PAUSED", waba_id=WABA, other_info={"title": "FIRST_PAUSE", "description": "x"}
    )
    sandbox.set_template_category("promo", "MARKETING", waba_id=WABA, announce_at=1900000000)
    sandbox.set_template_category("promo", "MARKETING", waba_id=WABA)
    [quality] = wait_until(lambda: _changes(receiver, "message_template_quality_update"))
    assert (quality["previous_quality_score"], quality["new_quality_score"]) == ("UNKNOWN", "RED")
    [paused] = wait_until(lambda: _changes(receiver, "message_template_status_update"))
    assert paused["event"] == "PAUSED" and paused["other_info"]["title"] == "FIRST_PAUSE"
    both = wait_until(
        lambda: (c := _changes(receiver, "template_category_update")) and len(c) == 2 and c
    )
    # Deliveries run concurrently: tell the two shapes apart by their keys, not their order.
    [announced] = [c for c in both if "correct_category" in c]
    [done] = [c for c in both if "previous_category" in c]
    assert announced["correct_category"] == "MARKETING"
    assert announced["category_update_timestamp"] == 1900000000
    assert done["previous_category"] == "UTILITY" and done["new_category"] == "MARKETING"
    [listed] = graph.get(f"/{WABA}/message_templates").json()["data"]
    assert listed["quality_score"] == {"score": "RED"} and listed["category"] == "MARKETING"


def test_a_reinstated_template_is_approved_and_sends_again(sandbox, graph, receiver):
    sandbox.register_phone_number(PNID, waba_id=WABA)
    sandbox.create_template("promo", waba_id=WABA, components=[{"type": "BODY", "text": "Hi"}])
    template = {"name": "promo", "language": {"code": "en_US"}}
    assert _send(graph, template).status_code == 200
    sandbox.set_template_status("promo", "DISABLED", waba_id=WABA)
    assert _send(graph, template).json()["error"]["code"] == 132016
    sandbox.set_template_status("promo", "REINSTATED", waba_id=WABA)
    events = wait_until(
        lambda: (c := _changes(receiver, "message_template_status_update")) and len(c) == 2 and c
    )
    assert sorted(e["event"] for e in events) == ["DISABLED", "REINSTATED"]
    [listed] = graph.get(f"/{WABA}/message_templates").json()["data"]
    assert listed["status"] == "APPROVED"
    answer = _send(graph, template)
    assert answer.status_code == 200, answer.json()


def test_send_checks_components_against_the_template(sandbox, graph):
    sandbox.register_phone_number(PNID, waba_id=WABA)
    sandbox.create_template(
        "named",
        waba_id=WABA,
        parameter_format="NAMED",
        components=[
            {"type": "HEADER", "format": "IMAGE"},
            {"type": "BODY", "text": "Hi {{first_name}}, order {{order}} ships."},
            {
                "type": "BUTTONS",
                "buttons": [{"type": "URL", "text": "Track", "url": "https://t.test/{{1}}"}],
            },
        ],
    )
    header = {"type": "header", "parameters": [{"type": "image", "image": {"id": "1"}}]}
    button = {
        "type": "button",
        "sub_type": "url",
        "index": "0",
        "parameters": [{"type": "text", "text": "A1"}],
    }

    def body(*params):
        return {"type": "body", "parameters": list(params)}

    def text(value, name=None):
        return {"type": "text", "text": value} | ({"parameter_name": name} if name else {})

    lang = {"code": "en_US"}
    good = [header, body(text("Ana", "first_name"), text("42", "order")), button]
    assert _send(graph, {"name": "named", "language": lang, "components": good}).status_code == 200

    def code(components):
        answer = _send(graph, {"name": "named", "language": lang, "components": components})
        error = answer.json()["error"]
        return error["code"], error["message"]

    assert code([header, body(text("Ana", "first_name")), button])[0] == 132000
    assert code([header, body(text("Ana"), text("42")), button]) == (
        100,
        "(#100) Parameter name is missing or empty",
    )
    text_header = {"type": "header", "parameters": [text("x")]}
    assert code([text_header, *good[1:]])[0] == 132012
    assert code([header, body(text(" ", "first_name"), text("42", "order")), button])[0] == 100
    assert code(good[:2])[0] == 132000  # the URL button's variable is missing


def test_resumable_upload_gives_the_handle_a_media_header_needs(sandbox, graph):
    from tests.sandbox.conftest import APP_ID

    session = graph.post(
        f"/{APP_ID}/uploads",
        params={"file_name": "a.png", "file_length": 6, "file_type": "image/png"},
    ).json()["id"]
    assert session.startswith("upload:")
    wrong = graph.post(f"/{session}", content=b"abc", headers={"file_offset": "3"})
    assert wrong.status_code == 400 and wrong.json()["error"]["code"] == 100
    part = graph.post(f"/{session}", content=b"abc", headers={"file_offset": "0"}).json()
    assert part == {"id": session, "file_offset": 3}
    handle = graph.post(f"/{session}", content=b"def", headers={"file_offset": "3"}).json()["h"]
    assert (
        graph.post("/999/uploads", params={"file_length": 1, "file_type": "image/png"}).json()[
            "error"
        ]["code"]
        == 100
    )

    def create(handles):
        header = {"type": "HEADER", "format": "IMAGE", "example": {"header_handle": handles}}
        body = {"type": "BODY", "text": "Hi"}
        template = {"name": "with_image", "language": "en_US", "category": "MARKETING"}
        return graph.post(
            f"/{WABA}/message_templates", json=template | {"components": [header, body]}
        )

    refused = create(["4::made-up"])
    assert "header_handle" in refused.json()["error"]["error_data"]["details"]
    assert create([handle]).json()["status"] == "PENDING"


def test_edit_sends_an_approved_template_back_to_review_and_refuses_one_in_review(sandbox, graph):
    sandbox.update_config(auto_approve_templates=False)
    approved = sandbox.create_template("edit_me", waba_id=WABA)
    pending = sandbox.create_template("in_review", waba_id=WABA, status="PENDING")
    components = [{"type": "BODY", "text": "New {{1}} text"}]
    assert graph.post(f"/{approved['id']}", json={"components": components}).json() == {
        "success": True
    }
    listed = {t["name"]: t for t in graph.get(f"/{WABA}/message_templates").json()["data"]}
    assert listed["edit_me"]["status"] == "PENDING"
    assert listed["edit_me"]["components"] == components
    refused = graph.post(f"/{pending['id']}", json={"category": "MARKETING"})
    assert refused.status_code == 400


def test_a_location_header_template_is_sent_with_its_location(sandbox, graph):
    sandbox.register_phone_number(PNID, waba_id=WABA)
    sandbox.create_template(
        "visit_us",
        waba_id=WABA,
        components=[{"type": "HEADER", "format": "LOCATION"}, {"type": "BODY", "text": "Come"}],
    )
    location = {"type": "location", "location": {"latitude": 1.5, "longitude": 2.5}}
    header = {"type": "header", "parameters": [location]}
    template = {"name": "visit_us", "language": {"code": "en_US"}}
    assert _send(graph, template | {"components": [header]}).status_code == 200
    assert _send(graph, template).json()["error"]["code"] == 132012
