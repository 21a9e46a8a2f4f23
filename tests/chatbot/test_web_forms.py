"""The chatbot pages' form fields reshaped into the API's JSON (pure: no database): menu
choices one per line, templates, business hours per weekday, the write-only secret."""

from __future__ import annotations

import pytest
from django.http import QueryDict

from whatsapp.chatbot.web.forms import (
    FormInputError,
    rule_data_from_form,
    settings_data_from_form,
)


def form(**fields: str) -> QueryDict:
    data = QueryDict(mutable=True)
    for key, value in fields.items():
        data[key] = value
    return data


def test_menu_choices_are_one_per_line():
    buttons = rule_data_from_form(
        form(reply_kind="buttons", r_body="Pick", r_choices="a | Sales\n\n b|Support \nc")
    )
    assert buttons["reply"] == {
        "body": "Pick",
        "buttons": [
            {"id": "a", "title": "Sales"},
            {"id": "b", "title": "Support"},
            {"id": "c", "title": "c"},
        ],
    }
    rows = rule_data_from_form(
        form(reply_kind="list", r_body="Pick", r_button="Open", r_choices="x | X | the x\ny | Y")
    )["reply"]
    assert rows["sections"] == [
        {
            "title": "Options",
            "rows": [{"id": "x", "title": "X", "description": "the x"}, {"id": "y", "title": "Y"}],
        }
    ]


def test_templates_and_their_components():
    data = rule_data_from_form(
        form(
            reply_kind="template",
            r_template_name="order_update",
            r_template_components='[{"type": "body", "parameters": []}]',
            w_name="back_soon",
            w_language="pt_BR",
        )
    )
    assert data["reply"] == {
        "name": "order_update",
        "language": {"code": "en_US"},
        "components": [{"type": "body", "parameters": []}],
    }
    assert data["window_template"] == {"name": "back_soon", "language": {"code": "pt_BR"}}
    assert rule_data_from_form(form(reply_kind="text", r_body="hi"))["window_template"] is None
    with pytest.raises(FormInputError) as refused:
        rule_data_from_form(
            form(reply_kind="template", r_template_name="x", r_template_components="[")
        )
    assert refused.value.field == "reply"


def test_business_hours_per_weekday_and_the_secret_only_when_typed():
    data = settings_data_from_form(
        form(hours_fri="09:00-18:00, 22:00-02:00", holidays="2026-12-25")
    )
    assert data["business_hours"]["fri"] == [["09:00", "18:00"], ["22:00", "02:00"]]
    assert data["business_hours"]["mon"] == [] and data["holidays"] == ["2026-12-25"]
    assert "external_bot_secret" not in data
    assert settings_data_from_form(form())["business_hours"] == {}  # every day blank
    assert settings_data_from_form(form(external_bot_secret="s"))["external_bot_secret"] == "s"
    assert settings_data_from_form(form(remove_secret="on"))["external_bot_secret"] == ""
    with pytest.raises(FormInputError, match="Monday: write ranges like 09:00-17:00"):
        settings_data_from_form(form(hours_mon="9 to 5"))
