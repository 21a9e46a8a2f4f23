"""Unit tests of whatsapp.graph.payloads: every outbound type against Meta's exact JSON (Meta:
messages reference, mark-as-read), and validation errors that name the offending field. Pure
functions: no HTTP at all.

Meta pages:
- messages reference: https://developers.facebook.com/docs/whatsapp/cloud-api/reference/messages
- mark-as-read: https://developers.facebook.com/documentation/business-messaging/whatsapp/messages/mark-message-as-read/
"""

from __future__ import annotations

from typing import Any

import pytest

from whatsapp.graph.payloads import (
    PayloadError,
    build_message_payload,
    build_payload_from_parts,
    mark_as_read_payload,
)

PHONE = "5511999990000"
HEAD = {"messaging_product": "whatsapp", "recipient_type": "individual", "to": PHONE}


def build(message_type: str, content: Any, **kw: Any) -> dict[str, Any]:
    return build_message_payload(recipient=PHONE, message_type=message_type, content=content, **kw)


def error_field(message_type: str, content: Any, **kw: Any) -> str:
    with pytest.raises(PayloadError) as info:
        build(message_type, content, **kw)
    assert info.value.field in str(info.value)
    return info.value.field


def test_text_exact_json():
    assert build("text", {"body": "Olá", "preview_url": True}) == {
        **HEAD,
        "type": "text",
        "text": {"body": "Olá", "preview_url": True},
    }


def test_recipient_plus_is_stripped_and_bsuid_goes_to_recipient_key():
    payload = build_message_payload(
        recipient="+5511999990000", message_type="text", content={"body": "x"}
    )
    assert payload["to"] == PHONE
    bsuid = build_message_payload(
        recipient="US.13491208655302741918", message_type="text", content={"body": "x"}
    )
    assert bsuid["recipient"] == "US.13491208655302741918"
    assert "to" not in bsuid


@pytest.mark.parametrize("recipient", ["", "123", "+12345678901234567", "55 11 9999", "us.123"])
def test_bad_recipient_names_recipient(recipient):
    with pytest.raises(PayloadError) as info:
        build_message_payload(recipient=recipient, message_type="text", content={"body": "x"})
    assert info.value.field == "recipient"


def test_text_validation():
    assert error_field("text", {"body": ""}) == "text.body"
    assert error_field("text", {"body": "x" * 4097}) == "text.body"
    assert build("text", {"body": "x" * 4096})["text"]["body"] == "x" * 4096
    assert error_field("text", {"body": "x", "preview_url": "yes"}) == "text.preview_url"
    assert error_field("text", {"body": "x", "bodyy": 1}) == "text.bodyy"
    assert error_field("fax", {"body": "x"}) == "type"


def test_context_and_callback_data():
    payload = build("text", {"body": "x"}, reply_to="wamid.ABC", callback_data="order-7")
    assert payload["context"] == {"message_id": "wamid.ABC"}
    assert payload["biz_opaque_callback_data"] == "order-7"
    assert error_field("text", {"body": "x"}, callback_data="x" * 513) == (
        "biz_opaque_callback_data"
    )
    assert error_field("text", {"body": "x"}, reply_to="") == "context.message_id"


@pytest.mark.parametrize("kind", ["image", "video", "document"])
def test_captioned_media_by_id_and_link(kind):
    assert build(kind, {"id": "1234", "caption": "look"}) == {
        **HEAD,
        "type": kind,
        kind: {"id": "1234", "caption": "look"},
    }
    assert build(kind, {"link": "https://cdn.example/x"})[kind] == {"link": "https://cdn.example/x"}


def test_document_filename_and_no_caption_on_audio_or_sticker():
    assert build("document", {"id": "9", "filename": "invoice.pdf"})["document"] == {
        "id": "9",
        "filename": "invoice.pdf",
    }
    assert build("audio", {"id": "5"}) == {**HEAD, "type": "audio", "audio": {"id": "5"}}
    assert build("sticker", {"id": "6"})["sticker"] == {"id": "6"}
    assert error_field("audio", {"id": "5", "caption": "no"}) == "audio.caption"
    assert error_field("sticker", {"id": "6", "caption": "no"}) == "sticker.caption"
    assert error_field("image", {"id": "6", "filename": "a.png"}) == "image.filename"


def test_media_reference_validation():
    assert error_field("image", {}) == "image.id"
    assert error_field("image", {"id": "1", "link": "https://x.example/a"}) == "image.id"
    assert error_field("image", {"link": "http://insecure.example/a.png"}) == "image.link"


def test_location_exact_json_and_ranges():
    assert build("location", {"latitude": -23.5, "longitude": -46.6, "name": "Loja"}) == {
        **HEAD,
        "type": "location",
        "location": {"latitude": -23.5, "longitude": -46.6, "name": "Loja"},
    }
    assert error_field("location", {"latitude": 91, "longitude": 0}) == "location.latitude"
    assert error_field("location", {"latitude": 0, "longitude": -181}) == "location.longitude"
    assert error_field("location", {"latitude": "north", "longitude": 0}) == "location.latitude"


def test_contacts_exact_json_and_validation():
    card = {
        "name": {"formatted_name": "Ana Souza", "first_name": "Ana"},
        "phones": [{"phone": "+55 11 99999-0000", "type": "CELL", "wa_id": PHONE}],
        "emails": [{"email": "ana@example.com", "type": "WORK"}],
    }
    assert build("contacts", {"contacts": [card]}) == {
        **HEAD,
        "type": "contacts",
        "contacts": [card],
    }
    assert error_field("contacts", {"contacts": []}) == "contacts"
    assert error_field("contacts", {"contacts": [{"name": {}}]}) == (
        "contacts[0].name.formatted_name"
    )


def test_reaction_and_its_removal():
    assert build("reaction", {"message_id": "wamid.Q", "emoji": "👍"}) == {
        **HEAD,
        "type": "reaction",
        "reaction": {"message_id": "wamid.Q", "emoji": "👍"},
    }
    assert build("reaction", {"message_id": "wamid.Q", "emoji": ""})["reaction"]["emoji"] == ""
    assert error_field("reaction", {"emoji": "👍"}) == "reaction.message_id"


def _buttons(*ids: str) -> dict[str, Any]:
    return {"buttons": [{"type": "reply", "reply": {"id": i, "title": i.title()}} for i in ids]}


def test_interactive_buttons_exact_json():
    content = {
        "type": "button",
        "header": {"type": "text", "text": "Order #7"},
        "body": {"text": "Confirm?"},
        "footer": {"text": "Reply below"},
        "action": _buttons("yes", "no"),
    }
    assert build("interactive", content) == {**HEAD, "type": "interactive", "interactive": content}


def test_interactive_button_limits_name_fields():
    body = {"text": "Pick"}
    too_many = {"type": "button", "body": body, "action": _buttons("a", "b", "c", "d")}
    assert error_field("interactive", too_many) == "interactive.action.buttons"
    none = {"type": "button", "body": body, "action": {"buttons": []}}
    assert error_field("interactive", none) == "interactive.action.buttons"
    dup = {"type": "button", "body": body, "action": _buttons("a", "a")}
    assert error_field("interactive", dup) == "interactive.action.buttons"
    long_title = _buttons("a")
    long_title["buttons"][0]["reply"]["title"] = "x" * 21
    assert error_field("interactive", {"type": "button", "body": body, "action": long_title}) == (
        "interactive.action.buttons[0].reply.title"
    )
    long_id = _buttons("i" * 257)
    long_id["buttons"][0]["reply"]["title"] = "ok"
    assert error_field("interactive", {"type": "button", "body": body, "action": long_id}) == (
        "interactive.action.buttons[0].reply.id"
    )
    assert error_field("interactive", {"type": "button", "action": _buttons("a")}) == (
        "interactive.body.text"
    )
    long_body = {"type": "button", "body": "x" * 1025, "action": _buttons("a")}
    assert error_field("interactive", long_body) == "interactive.body.text"
    long_footer = {"type": "button", "body": "b", "footer": "f" * 61, "action": _buttons("a")}
    assert error_field("interactive", long_footer) == "interactive.footer.text"
    assert error_field("interactive", {"type": "carousel"}) == "interactive.type"


def test_interactive_image_header_and_plain_string_body():
    content = {
        "type": "button",
        "header": {"type": "image", "image": {"id": "77"}},
        "body": "Plain body",
        "action": _buttons("a"),
    }
    built = build("interactive", content)["interactive"]
    assert built["header"] == {"type": "image", "image": {"id": "77"}}
    assert built["body"] == {"text": "Plain body"}


def _list(sections: list[dict[str, Any]], button: str = "Options") -> dict[str, Any]:
    return {
        "type": "list",
        "body": {"text": "Choose"},
        "action": {"button": button, "sections": sections},
    }


def test_interactive_list_exact_json():
    section = {
        "title": "Shipping",
        "rows": [
            {"id": "fast", "title": "Express", "description": "1 day"},
            {"id": "slow", "title": "Normal"},
        ],
    }
    content = _list([section])
    assert build("interactive", content)["interactive"] == content


def test_interactive_list_limits():
    rows = [{"id": f"r{i}", "title": f"Row {i}"} for i in range(11)]
    assert error_field("interactive", _list([{"title": "A", "rows": rows}])) == (
        "interactive.action.sections"
    )
    split = [{"title": "A", "rows": rows[:6]}, {"title": "B", "rows": rows[6:]}]
    assert error_field("interactive", _list(split)) == "interactive.action.sections"
    eleven = [{"title": f"S{i}", "rows": [{"id": f"r{i}", "title": "t"}]} for i in range(11)]
    assert error_field("interactive", _list(eleven)) == "interactive.action.sections"
    assert error_field("interactive", _list([{"rows": rows[:1]}], button="b" * 21)) == (
        "interactive.action.button"
    )
    long_row = [{"rows": [{"id": "a", "title": "t" * 25}]}]
    assert error_field("interactive", _list(long_row)) == (
        "interactive.action.sections[0].rows[0].title"
    )
    long_desc = [{"rows": [{"id": "a", "title": "t", "description": "d" * 73}]}]
    assert error_field("interactive", _list(long_desc)) == (
        "interactive.action.sections[0].rows[0].description"
    )
    untitled = [{"rows": rows[:1]}, {"title": "B", "rows": rows[1:2]}]
    assert error_field("interactive", _list(untitled)) == "interactive.action.sections[0].title"
    video_header = {
        **_list([{"rows": rows[:1]}]),
        "header": {"type": "video", "video": {"id": "1"}},
    }
    assert error_field("interactive", video_header) == "interactive.header.type"


def test_interactive_cta_url():
    content = {
        "type": "cta_url",
        "body": {"text": "See your order"},
        "action": {
            "name": "cta_url",
            "parameters": {"display_text": "Open", "url": "https://shop.example/o/7"},
        },
    }
    assert build("interactive", content)["interactive"] == content
    bad = {**content, "action": {"parameters": {"display_text": "Open", "url": "http://x.example"}}}
    assert error_field("interactive", bad) == "interactive.action.parameters.url"
    long = {
        **content,
        "action": {"parameters": {"display_text": "x" * 21, "url": "https://x.example"}},
    }
    assert error_field("interactive", long) == "interactive.action.parameters.display_text"


def test_template_exact_json_with_all_component_kinds():
    content = {
        "name": "order_update",
        "language": {"code": "en_US", "policy": "deterministic"},
        "components": [
            {
                "type": "header",
                "parameters": [{"type": "image", "image": {"link": "https://c.example/a.png"}}],
            },
            {"type": "body", "parameters": [{"type": "text", "text": "Ana"}]},
            {
                "type": "button",
                "sub_type": "quick_reply",
                "index": "0",
                "parameters": [{"type": "payload", "payload": "STOP"}],
            },
            {
                "type": "button",
                "sub_type": "url",
                "index": "1",
                "parameters": [{"type": "text", "text": "o/7"}],
            },
        ],
    }
    assert build("template", content) == {**HEAD, "type": "template", "template": content}


def test_template_named_parameters_language_shorthand_and_int_index():
    content = {
        "name": "welcome",
        "language": "pt_BR",
        "components": [
            {
                "type": "BODY",
                "parameters": [{"type": "text", "text": "Ana", "parameter_name": "customer_name"}],
            },
            {
                "type": "button",
                "sub_type": "quick_reply",
                "index": 0,
                "parameters": [{"type": "payload", "payload": "p"}],
            },
        ],
    }
    built = build("template", content)["template"]
    assert built["language"] == {"code": "pt_BR", "policy": "deterministic"}
    assert built["components"][0] == {
        "type": "body",
        "parameters": [{"type": "text", "text": "Ana", "parameter_name": "customer_name"}],
    }
    assert built["components"][1]["index"] == "0"


def test_template_validation():
    assert error_field("template", {"name": "x", "language": "en", "components": {"body": []}}) == (
        "template.components"
    )
    assert error_field("template", {"name": "Bad Name", "language": "en"}) == "template.name"
    assert error_field("template", {"name": "ok"}) == "template.language"
    no_text = {
        "name": "ok",
        "language": "en",
        "components": [{"type": "body", "parameters": [{"type": "text"}]}],
    }
    assert error_field("template", no_text) == "template.components[0].parameters[0].text"
    no_index = {
        "name": "ok",
        "language": "en",
        "components": [{"type": "button", "sub_type": "url"}],
    }
    assert error_field("template", no_index) == "template.components[0].index"


def test_mark_as_read_payload():
    assert mark_as_read_payload("wamid.IN") == {
        "messaging_product": "whatsapp",
        "status": "read",
        "message_id": "wamid.IN",
    }
    assert mark_as_read_payload("wamid.IN", typing_indicator=True)["typing_indicator"] == {
        "type": "text"
    }


def test_build_payload_from_parts_matches_the_product_helper():
    assert build_payload_from_parts(PHONE, "text", "hello")["text"] == {
        "body": "hello",
        "preview_url": False,
    }
    assert build_payload_from_parts(PHONE, "image", "12345", caption="c")["image"] == {
        "id": "12345",
        "caption": "c",
    }
    linked = build_payload_from_parts(PHONE, "document", None, media_url="https://x.example/a.pdf")
    assert linked["document"] == {"link": "https://x.example/a.pdf"}
    located = build_payload_from_parts(PHONE, "location", '{"latitude": 1, "longitude": 2}')
    assert located["location"] == {"latitude": 1.0, "longitude": 2.0}
    with pytest.raises(PayloadError) as info:
        build_payload_from_parts(PHONE, "audio", "55", caption="no captions on audio")
    assert info.value.field == "audio.caption"
    with pytest.raises(PayloadError) as info:
        build_payload_from_parts(PHONE, "location", "not json")
    assert info.value.field == "location"
