"""The editor's pure parts: the form's data turned into Meta's create body (and back), review
problems placed on the form's fields, and the preview with examples filled in. No database."""

from __future__ import annotations

from types import SimpleNamespace

from whatsapp.message_templates.review import template_review
from whatsapp.message_templates.web.editor import (
    definition_build,
    editor_problems,
    form_initial,
    preview_of,
)

FORM = {
    "name": "order_ready",
    "language": "en_US",
    "category": "utility",
    "parameter_format": "POSITIONAL",
    "header_text": "Order {{1}}",
    "header_example": "A-1",
    "body_text": "Hi {{1}}, your order {{2}} is ready.",
    "body_examples": "Ana\nA-1\n",
    "footer_text": "Shop",
    "quick_replies": "Thanks\nStop",
    "url_button_text": "Track",
    "url_button_url": "https://shop.test/t/{{1}}",
    "url_button_example": "https://shop.test/t/A-1",
}


def test_form_becomes_metas_create_body_that_passes_review() -> None:
    definition = definition_build(FORM)
    assert definition["category"] == "UTILITY"
    assert definition["components"] == [
        {
            "type": "HEADER",
            "format": "TEXT",
            "text": "Order {{1}}",
            "example": {"header_text": ["A-1"]},
        },
        {
            "type": "BODY",
            "text": "Hi {{1}}, your order {{2}} is ready.",
            "example": {"body_text": [["Ana", "A-1"]]},
        },
        {"type": "FOOTER", "text": "Shop"},
        {
            "type": "BUTTONS",
            "buttons": [
                {"type": "QUICK_REPLY", "text": "Thanks"},
                {"type": "QUICK_REPLY", "text": "Stop"},
                {
                    "type": "URL",
                    "text": "Track",
                    "url": "https://shop.test/t/{{1}}",
                    "example": ["https://shop.test/t/A-1"],
                },
            ],
        },
    ]
    assert template_review(definition) == []


def test_named_examples_and_round_trip_through_a_stored_template() -> None:
    form = dict(
        FORM,
        parameter_format="NAMED",
        header_text="",
        body_text="Hi {{first_name}}, order {{order_id}} is ready.",
        body_examples="Ana\nA-1",
    )
    definition = definition_build(form)
    body = definition["components"][0]
    assert body["example"] == {
        "body_text_named_params": [
            {"param_name": "first_name", "example": "Ana"},
            {"param_name": "order_id", "example": "A-1"},
        ]
    }
    stored = SimpleNamespace(
        name="order_ready",
        language="en_US",
        category="UTILITY",
        parameter_format="NAMED",
        components=definition["components"],
    )
    initial = form_initial(stored)
    assert definition_build(initial) == definition


def test_problems_land_on_the_form_field_they_concern() -> None:
    broken = dict(
        FORM,
        name="Order Ready",
        body_text="{{1}} is ready",
        body_examples="",
        footer_text="Hi {{1}}",
        quick_replies="A button text far longer than Meta allows",
    )
    problems = {(p.field, p.message) for p in editor_problems(definition_build(broken))}
    fields = {field for field, _ in problems}
    assert {"name", "body_text", "body_examples", "footer_text", "quick_replies"} <= fields
    assert ("body_text", "A variable cannot be at the very start or end of the body.") in problems


def test_preview_fills_examples_or_given_values() -> None:
    definition = definition_build(FORM)
    preview = preview_of(definition)
    assert preview.header == "Order A-1"
    assert preview.body == "Hi Ana, your order A-1 is ready."
    assert preview.footer == "Shop" and preview.buttons == ("Thanks", "Stop", "Track")
    typed = preview_of(definition, {"1": "Bo"}, header_values={"1": "Z-9"})
    assert typed.body == "Hi Bo, your order {{2}} is ready." and typed.header == "Order Z-9"
