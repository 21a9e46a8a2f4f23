"""Send-time parameters against a stored template (pure, no database): Meta's components built
exactly, and every wrong or missing parameter named."""

from __future__ import annotations

import pytest

from whatsapp.message_templates.compose import ParameterError, components_build

NAMED = [
    {"type": "HEADER", "format": "TEXT", "text": "Order {{order}}"},
    {"type": "BODY", "text": "Hi {{first_name}}, order {{order}} ships."},
    {
        "type": "BUTTONS",
        "buttons": [
            {"type": "QUICK_REPLY", "text": "Stop"},
            {"type": "URL", "text": "Track", "url": "https://t.test/{{1}}"},
            {"type": "COPY_CODE", "example": "SAVE"},
        ],
    },
]
POSITIONAL = [
    {"type": "HEADER", "format": "IMAGE"},
    {"type": "BODY", "text": "Hi {{1}}, order {{2}} ships."},
]


def build(components, fmt, **kw):
    return components_build(components=components, parameter_format=fmt, **kw)


def test_named_parameters_carry_their_names_in_metas_shape():
    built = build(
        NAMED,
        "NAMED",
        parameters={"first_name": "Ana", "order": "42"},
        buttons=[{"index": 1, "url_suffix": "A42"}, {"index": 2, "coupon_code": "SAVE10"}],
    )
    assert built == [
        {
            "type": "header",
            "parameters": [{"type": "text", "text": "42", "parameter_name": "order"}],
        },
        {
            "type": "body",
            "parameters": [
                {"type": "text", "text": "Ana", "parameter_name": "first_name"},
                {"type": "text", "text": "42", "parameter_name": "order"},
            ],
        },
        {
            "type": "button",
            "sub_type": "url",
            "index": "1",
            "parameters": [{"type": "text", "text": "A42"}],
        },
        {
            "type": "button",
            "sub_type": "copy_code",
            "index": "2",
            "parameters": [{"type": "coupon_code", "coupon_code": "SAVE10"}],
        },
    ]


def test_positional_parameters_and_header_media():
    built = build(
        POSITIONAL,
        "POSITIONAL",
        parameters=["Ana", 42],
        header={"type": "image", "image": {"link": "https://x.test/a.png"}},
    )
    assert built == [
        {
            "type": "header",
            "parameters": [{"type": "image", "image": {"link": "https://x.test/a.png"}}],
        },
        {
            "type": "body",
            "parameters": [{"type": "text", "text": "Ana"}, {"type": "text", "text": "42"}],
        },
    ]


@pytest.mark.parametrize(
    ("components", "fmt", "kw", "field"),
    [
        (NAMED, "NAMED", {"parameters": {"first_name": "Ana"}}, "template.parameters.order"),
        (NAMED, "NAMED", {"parameters": ["Ana", "42"]}, "template.parameters"),
        (
            NAMED,
            "NAMED",
            {"parameters": {"first_name": "", "order": "1"}},
            "template.parameters.first_name",
        ),
        (
            NAMED,
            "NAMED",
            {"parameters": {"first_name": "A", "order": "1", "x": "y"}},
            "template.parameters.x",
        ),
        (
            NAMED,
            "NAMED",
            {"parameters": {"first_name": "A\nB", "order": "1"}},
            "template.parameters.first_name",
        ),
        (
            NAMED,
            "NAMED",
            {
                "parameters": {"first_name": "A", "order": "1"},
                "buttons": [{"index": 2, "coupon_code": "X"}],
            },
            "template.buttons[1].url_suffix",
        ),
        (
            NAMED,
            "NAMED",
            {
                "parameters": {"first_name": "A", "order": "1"},
                "buttons": [{"index": 7, "payload": "X"}],
            },
            "template.buttons[0].index",
        ),
        (POSITIONAL, "POSITIONAL", {"parameters": ["Ana"]}, "template.parameters"),
        (POSITIONAL, "POSITIONAL", {"parameters": {"1": "Ana"}}, "template.parameters"),
        (
            POSITIONAL,
            "POSITIONAL",
            {"parameters": ["Ana", True], "header": None},
            "template.parameters[1]",
        ),
        (POSITIONAL, "POSITIONAL", {"parameters": ["Ana", "1"]}, "template.header"),
        (
            POSITIONAL,
            "POSITIONAL",
            {"parameters": ["Ana", "1"], "header": {"type": "video", "video": {"id": "1"}}},
            "template.header.type",
        ),
        (
            POSITIONAL,
            "POSITIONAL",
            {
                "parameters": ["Ana", "1"],
                "header": {"type": "image", "image": {"id": "1", "link": "x"}},
            },
            "template.header.image",
        ),
    ],
)
def test_wrong_or_missing_parameters_are_named(components, fmt, kw, field):
    with pytest.raises(ParameterError) as caught:
        build(components, fmt, **kw)
    assert caught.value.field == field


def test_a_location_header_takes_its_coordinates():
    components = [{"type": "HEADER", "format": "LOCATION"}, {"type": "BODY", "text": "Here."}]
    location = {"latitude": -23.5, "longitude": -46.6, "name": "Store"}
    built = build(components, "POSITIONAL", header={"type": "location", "location": location})
    assert built == [{"type": "header", "parameters": [{"type": "location", "location": location}]}]
    with pytest.raises(ParameterError) as caught:
        build(components, "POSITIONAL", header={"type": "location", "location": {"latitude": 1}})
    assert caught.value.field == "template.header.location.longitude"
