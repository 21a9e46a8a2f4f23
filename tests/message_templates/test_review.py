"""The local review checks (pure function, no database): each of Meta's rules names its field."""

from __future__ import annotations

import pytest

from whatsapp.message_templates.review import template_review


def definition(*components, **extra):
    return {
        "name": "order_update",
        "language": "en_US",
        "category": "UTILITY",
        "components": list(components)
        or [{"type": "BODY", "text": "Hi {{1}}, thanks.", "example": {"body_text": [["Ana"]]}}],
    } | extra


def fields(problems):
    return [p.field for p in problems]


def test_a_good_template_passes():
    assert template_review(definition()) == []
    named = definition(
        {
            "type": "HEADER",
            "format": "TEXT",
            "text": "Order {{order}}",
            "example": {"header_text_named_params": [{"param_name": "order", "example": "42"}]},
        },
        {
            "type": "BODY",
            "text": "Hi {{name}}, thanks.",
            "example": {"body_text_named_params": [{"param_name": "name", "example": "Ana"}]},
        },
        {"type": "FOOTER", "text": "Shop"},
        {
            "type": "BUTTONS",
            "buttons": [
                {"type": "QUICK_REPLY", "text": "Stop"},
                {"type": "QUICK_REPLY", "text": "More"},
                {
                    "type": "URL",
                    "text": "Track",
                    "url": "https://t.test/{{1}}",
                    "example": ["https://t.test/a"],
                },
            ],
        },
        parameter_format="NAMED",
    )
    assert template_review(named) == []


BODY_OK = {"type": "BODY", "text": "Hi there"}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"name": "Order Update"}, "name"),
        ({"name": "1order"}, "name"),
        ({"name": "a" * 513}, "name"),
        ({"language": "english"}, "language"),
        ({"category": "PROMO"}, "category"),
        ({"parameter_format": "BOTH"}, "parameter_format"),
        ({"components": []}, "components"),
        ({"components": [{"type": "FOOTER", "text": "x"}]}, "components"),
        ({"components": [BODY_OK, BODY_OK]}, "components[1].type"),
        ({"components": [{"type": "BODY", "text": "x" * 1025}]}, "components[0].text"),
        (
            {
                "components": [
                    {"type": "BODY", "text": "{{1}} hi", "example": {"body_text": [["a"]]}}
                ]
            },
            "components[0].text",
        ),
        (
            {
                "components": [
                    {"type": "BODY", "text": "hi {{1}}", "example": {"body_text": [["a"]]}}
                ]
            },
            "components[0].text",
        ),
        (
            {
                "components": [
                    {
                        "type": "BODY",
                        "text": "a {{1}}{{2}} b",
                        "example": {"body_text": [["a", "b"]]},
                    }
                ]
            },
            "components[0].text",
        ),
        (
            {"components": [{"type": "BODY", "text": "a {{1}} b"}]},
            "components[0].example.body_text",
        ),
        (
            {
                "components": [
                    {"type": "BODY", "text": "a {{2}} b", "example": {"body_text": [["x"]]}}
                ]
            },
            "components[0].text",
        ),
        (
            {
                "components": [
                    {
                        "type": "BODY",
                        "text": "a {{1}} and {{name}} b",
                        "example": {"body_text": [["x", "y"]]},
                    }
                ]
            },
            "components[0].text",
        ),
        (
            {
                "components": [
                    {
                        "type": "BODY",
                        "text": "a {{name}} b",
                        "example": {
                            "body_text_named_params": [{"param_name": "name", "example": "x"}]
                        },
                    }
                ]
            },
            "parameter_format",
        ),
        ({"components": [{"type": "BODY", "text": "a {{ 1 }} b"}]}, "components[0].text"),
        (
            {"components": [{"type": "HEADER", "format": "TEXT", "text": "x" * 61}, BODY_OK]},
            "components[0].text",
        ),
        (
            {
                "components": [
                    {
                        "type": "HEADER",
                        "format": "TEXT",
                        "text": "{{1}} {{2}}",
                        "example": {"header_text": ["a", "b"]},
                    },
                    BODY_OK,
                ]
            },
            "components[0].text",
        ),
        (
            {"components": [{"type": "HEADER", "format": "IMAGE"}, BODY_OK]},
            "components[0].example.header_handle",
        ),
        ({"components": [{"type": "HEADER", "format": "GIF"}, BODY_OK]}, "components[0].format"),
        ({"components": [BODY_OK, {"type": "FOOTER", "text": "x" * 61}]}, "components[1].text"),
        ({"components": [BODY_OK, {"type": "FOOTER", "text": "Hi {{1}}"}]}, "components[1].text"),
        (
            {
                "components": [
                    BODY_OK,
                    {"type": "BUTTONS", "buttons": [{"type": "QUICK_REPLY", "text": "x"}] * 11},
                ]
            },
            "components[1].buttons",
        ),
        (
            {
                "components": [
                    BODY_OK,
                    {"type": "BUTTONS", "buttons": [{"type": "QUICK_REPLY", "text": "x" * 26}]},
                ]
            },
            "components[1].buttons[0].text",
        ),
        (
            {
                "components": [
                    BODY_OK,
                    {
                        "type": "BUTTONS",
                        "buttons": [
                            {"type": "QUICK_REPLY", "text": "a"},
                            {"type": "URL", "text": "b", "url": "https://x.test"},
                            {"type": "QUICK_REPLY", "text": "c"},
                        ],
                    },
                ]
            },
            "components[1].buttons",
        ),
        (
            {
                "components": [
                    BODY_OK,
                    {
                        "type": "BUTTONS",
                        "buttons": [
                            {
                                "type": "URL",
                                "text": "b",
                                "url": "https://x.test/{{1}}/more",
                                "example": ["https://x.test/a/more"],
                            }
                        ],
                    },
                ]
            },
            "components[1].buttons[0].url",
        ),
        (
            {
                "components": [
                    BODY_OK,
                    {
                        "type": "BUTTONS",
                        "buttons": [{"type": "URL", "text": "b", "url": "https://x.test/{{1}}"}],
                    },
                ]
            },
            "components[1].buttons[0].example",
        ),
        (
            {
                "components": [
                    BODY_OK,
                    {"type": "BUTTONS", "buttons": [{"type": "PHONE_NUMBER", "text": "Call"}]},
                ]
            },
            "components[1].buttons[0].phone_number",
        ),
    ],
)
def test_each_rule_names_its_field(change, field):
    assert field in fields(template_review(definition() | change))
