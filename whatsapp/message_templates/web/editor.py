"""The template editor's form, turned into Meta's create body (and back), and the preview.

The form is flat (a text header, the body, a footer, quick replies, one URL button); examples
are one per line in the order the variables first appear. `definition_build` makes Meta's
`POST /{waba-id}/message_templates` body from it, which `review.template_review` checks and
`lifecycle.template_create` submits; `form_initial` reads a stored template back into the form.
Meta: https://developers.facebook.com/docs/whatsapp/business-management-api/message-templates/components
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django import forms

from whatsapp.message_templates.review import (
    BODY_TEXT_MAX,
    CATEGORIES,
    FOOTER_TEXT_MAX,
    HEADER_TEXT_MAX,
    PLACEHOLDER_RE,
    placeholders,
    template_review,
)

EXAMPLES_HELP = "One per line, in the order the variables first appear."


class TemplateEditorForm(forms.Form):
    """The editor's fields; `name` and `language` are fixed when editing."""

    name = forms.CharField(
        max_length=512, help_text="Lowercase letters, digits and underscores, e.g. order_ready."
    )
    language = forms.CharField(max_length=16, initial="en_US", help_text="e.g. en_US, pt_BR.")
    category = forms.ChoiceField(choices=[(c, c.title()) for c in CATEGORIES], initial="UTILITY")
    parameter_format = forms.ChoiceField(
        label="Variables",
        choices=[("POSITIONAL", "Numbered: {{1}}, {{2}}"), ("NAMED", "Named: {{first_name}}")],
        initial="POSITIONAL",
    )
    header_text = forms.CharField(
        label="Header (optional)", required=False, max_length=HEADER_TEXT_MAX * 2
    )
    header_example = forms.CharField(label="Header example", required=False)
    body_text = forms.CharField(
        label="Body", widget=forms.Textarea(attrs={"rows": 5}), max_length=BODY_TEXT_MAX * 2
    )
    body_examples = forms.CharField(
        label="Body examples",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=EXAMPLES_HELP,
    )
    footer_text = forms.CharField(
        label="Footer (optional)", required=False, max_length=FOOTER_TEXT_MAX * 2
    )
    quick_replies = forms.CharField(
        label="Quick reply buttons (optional)",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="One button text per line.",
    )
    url_button_text = forms.CharField(label="Link button text (optional)", required=False)
    url_button_url = forms.CharField(
        label="Link button URL", required=False, help_text="May end with {{1}}."
    )
    url_button_example = forms.CharField(label="Link button example URL", required=False)


# Which form field a problem's path in the create body belongs to.
_FIELD_OF_PART = {
    ("HEADER", "text"): "header_text",
    ("HEADER", "example"): "header_example",
    ("BODY", "text"): "body_text",
    ("BODY", "example"): "body_examples",
    ("FOOTER", "text"): "footer_text",
}
_PATH_RE = re.compile(r"^components\[(\d+)\](?:\.(\w+))?(?:\.buttons\[(\d+)\])?")


def _lines(text: str) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def _examples(names: list[str], values: list[str], named: bool, part: str) -> dict[str, Any]:
    if not names:
        return {}
    if named:
        return {
            f"{part}_text_named_params": [
                {"param_name": name, "example": value}
                for name, value in zip(names, values, strict=False)
            ]
        }
    return {f"{part}_text": [values] if part == "body" else values}


def definition_build(data: Mapping[str, Any]) -> dict[str, Any]:
    """Meta's create body from the editor's (cleaned or raw) data; never raises."""
    value = lambda key: str(data.get(key) or "").strip()  # noqa: E731
    named = value("parameter_format").upper() == "NAMED"
    components: list[dict[str, Any]] = []
    header = value("header_text")
    if header:
        component: dict[str, Any] = {"type": "HEADER", "format": "TEXT", "text": header}
        example = _examples(placeholders(header), _lines(value("header_example")), named, "header")
        if example:
            component["example"] = example
        components.append(component)
    body_text = str(data.get("body_text") or "").strip()
    body: dict[str, Any] = {"type": "BODY", "text": body_text}
    example = _examples(placeholders(body_text), _lines(value("body_examples")), named, "body")
    if example:
        body["example"] = example
    components.append(body)
    if value("footer_text"):
        components.append({"type": "FOOTER", "text": value("footer_text")})
    buttons: list[dict[str, Any]] = [
        {"type": "QUICK_REPLY", "text": text} for text in _lines(value("quick_replies"))
    ]
    if value("url_button_text") or value("url_button_url"):
        button: dict[str, Any] = {
            "type": "URL",
            "text": value("url_button_text"),
            "url": value("url_button_url"),
        }
        if placeholders(value("url_button_url")):
            button["example"] = [value("url_button_example")] if value("url_button_example") else []
        buttons.append(button)
    if buttons:
        components.append({"type": "BUTTONS", "buttons": buttons})
    return {
        "name": value("name"),
        "language": value("language"),
        "category": value("category").upper(),
        "parameter_format": "NAMED" if named else "POSITIONAL",
        "components": components,
    }


def form_initial(template: Any) -> dict[str, str]:
    """The editor's initial data from a stored template (components as Meta returned them)."""
    initial = {
        "name": template.name,
        "language": template.language,
        "category": template.category,
        "parameter_format": template.parameter_format,
    }
    named = template.parameter_format == "NAMED"
    for component in template.components or ():
        kind = str(component.get("type") or "").upper()
        example = component.get("example") or {}
        if kind == "HEADER" and str(component.get("format") or "TEXT").upper() == "TEXT":
            initial["header_text"] = component.get("text") or ""
            values = (
                [p.get("example", "") for p in example.get("header_text_named_params") or ()]
                if named
                else list(example.get("header_text") or ())
            )
            initial["header_example"] = "\n".join(values)
        elif kind == "BODY":
            initial["body_text"] = component.get("text") or ""
            if named:
                values = [p.get("example", "") for p in example.get("body_text_named_params") or ()]
            else:
                values = list((example.get("body_text") or [[]])[0])
            initial["body_examples"] = "\n".join(values)
        elif kind == "FOOTER":
            initial["footer_text"] = component.get("text") or ""
        elif kind == "BUTTONS":
            replies = []
            for button in component.get("buttons") or ():
                if str(button.get("type")).upper() == "QUICK_REPLY":
                    replies.append(button.get("text") or "")
                elif str(button.get("type")).upper() == "URL":
                    initial["url_button_text"] = button.get("text") or ""
                    initial["url_button_url"] = button.get("url") or ""
                    initial["url_button_example"] = (button.get("example") or [""])[0]
            initial["quick_replies"] = "\n".join(replies)
    return initial


@dataclass(frozen=True)
class FieldProblem:
    """A review problem placed on the editor: `field` is a form field's name ("" for the
    template as a whole), `path` the problem's path in Meta's create body."""

    field: str
    path: str
    message: str

    @property
    def label(self) -> str:
        """The form field's label ("Body", "Footer (optional)"), else the path."""
        field = TemplateEditorForm.base_fields.get(self.field)
        if field is None:
            return self.path or "Template"
        return str(field.label or self.field.replace("_", " ").capitalize())


def _form_field(definition: Mapping[str, Any], path: str) -> str:
    if path in ("name", "language", "category", "parameter_format"):
        return path
    match = _PATH_RE.match(path)
    if not match:
        return ""
    components = definition.get("components") or []
    index = int(match.group(1))
    kind = str(components[index].get("type")).upper() if index < len(components) else ""
    if kind == "BUTTONS" and match.group(3) is not None:
        buttons = components[index].get("buttons") or []
        button = buttons[int(match.group(3))] if int(match.group(3)) < len(buttons) else {}
        return "quick_replies" if button.get("type") == "QUICK_REPLY" else "url_button_url"
    if kind == "BUTTONS":
        return "quick_replies"
    return _FIELD_OF_PART.get((kind, match.group(2) or "text"), "")


def editor_problems(definition: Mapping[str, Any]) -> list[FieldProblem]:
    """The local review checks (`review.template_review`) placed on the editor's fields."""
    return [
        FieldProblem(_form_field(definition, p.field), p.field, p.message)
        for p in template_review(definition)
    ]


def problems_from_fields(
    definition: Mapping[str, Any], fields: Mapping[str, list[str]]
) -> list[FieldProblem]:
    """`TemplateInvalidError.fields` (path -> messages) placed on the editor's fields."""
    return [
        FieldProblem(_form_field(definition, path), path, message)
        for path, messages in fields.items()
        for message in messages
    ] or [FieldProblem("", "", "The template does not pass Meta's rules.")]


@dataclass(frozen=True)
class Preview:
    """What the WhatsApp-style bubble shows: texts with each variable replaced by its example
    (or left as `{{name}}`), and the button texts."""

    header: str
    body: str
    footer: str
    buttons: tuple[str, ...]


def _fill(text: str, values: Mapping[str, str]) -> str:
    return PLACEHOLDER_RE.sub(lambda m: values.get(m.group(1)) or m.group(0), text or "")


def _example_values(component: Mapping[str, Any], part: str) -> dict[str, str]:
    names = placeholders(str(component.get("text") or ""))
    example = component.get("example") or {}
    named = example.get(f"{part}_text_named_params")
    if named:
        return {p.get("param_name"): p.get("example") for p in named if isinstance(p, Mapping)}
    values = example.get(f"{part}_text") or []
    if part == "body" and values and isinstance(values[0], list):
        values = values[0]
    return dict(zip(names, [str(v) for v in values], strict=False))


def preview_of(
    definition: Mapping[str, Any],
    values: Mapping[str, str] | None = None,
    *,
    header_values: Mapping[str, str] | None = None,
) -> Preview:
    """The preview of Meta's create body (or of a stored template's components, `values` and
    `header_values` replacing the examples: the picker's typed values)."""
    header = body = footer = ""
    buttons: list[str] = []
    for component in definition.get("components") or ():
        kind = str(component.get("type") or "").upper()
        if kind == "HEADER":
            given = header_values if header_values is not None else values
            given = given if given is not None else _example_values(component, "header")
            header = _fill(str(component.get("text") or ""), given)
        elif kind == "BODY":
            given = values if values is not None else _example_values(component, "body")
            body = _fill(str(component.get("text") or ""), given)
        elif kind == "FOOTER":
            footer = str(component.get("text") or "")
        elif kind == "BUTTONS":
            buttons = [str(b.get("text") or "") for b in component.get("buttons") or ()]
    return Preview(header=header, body=body, footer=footer, buttons=tuple(buttons))
