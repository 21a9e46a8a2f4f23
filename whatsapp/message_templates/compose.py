"""A template send's parameters checked against the stored template, and Meta's `components`
built from them exactly. Pure (no Django, no I/O): `components_build` raises `ParameterError`
naming the parameter.

Input (the send API's `template` object, besides `name` and `language`):
- `parameters`: a dict `{"customer_name": "Ana"}` for NAMED templates (the header's and the
  body's variables by name), a list `["Ana", "42"]` for POSITIONAL ones (the body's `{{1}}`,
  `{{2}}`, ...; Meta numbers the header's variable apart).
- `header`: `{"type": "text", "text": "..."}` for a POSITIONAL text header's `{{1}}`; media for an
  IMAGE/VIDEO/DOCUMENT header, `{"type": "image", "image": {"id"|"link"}}`; or
  `{"type": "location", "location": {latitude, longitude, name?, address?}}`.
- `buttons`: `[{"index": 1, "url_suffix": "A12"}, {"index": 0, "payload": "STOP"},
  {"index": 2, "coupon_code": "SAVE10"}]`, `index` being the button's position.

Output (Meta: sending message templates): `[{"type": "header", "parameters": [...]},
{"type": "body", "parameters": [{"type": "text", "text": "Ana", "parameter_name"?: ...}]},
{"type": "button", "sub_type": "url", "index": "1", "parameters": [{"type": "text", ...}]}]`;
`parameter_name` on every text parameter of a NAMED template (without it Meta answers
`(#100) Parameter name is missing or empty`). Meta refuses empty text (and text with new lines,
tabs or more than four consecutive spaces in a parameter): checked here, so the caller gets a
400 naming the parameter instead of a failed send.
- https://developers.facebook.com/docs/whatsapp/cloud-api/guides/send-message-templates
- https://developers.facebook.com/docs/whatsapp/cloud-api/reference/messages#template-object
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from whatsapp.message_templates.review import MEDIA_HEADER_FORMATS, placeholders

PARAMETER_TEXT_MAX = 1024
_BAD_SPACING_RE = re.compile(r"[\n\t]| {5,}")
_MEDIA_REF_KEYS = ("id", "link")


class ParameterError(ValueError):
    """A parameter is missing, unknown or of the wrong kind; `field` names it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class ButtonSlot:
    """A button of the stored template that takes a parameter at send time."""

    index: int
    sub_type: str  # url | quick_reply | copy_code
    required: bool


@dataclass(frozen=True)
class TemplateShape:
    """What a stored template needs at send time."""

    header_format: str  # "" (no header), TEXT, IMAGE, VIDEO, DOCUMENT, LOCATION
    header_variables: tuple[str, ...]
    body_variables: tuple[str, ...]
    buttons: tuple[ButtonSlot, ...]
    named: bool

    @property
    def variables(self) -> tuple[str, ...]:
        """The variables `parameters` fills: NAMED, the header's and the body's (once each);
        POSITIONAL, the body's (the header's `{{1}}` comes in `header.text`)."""
        if not self.named:
            return self.body_variables
        seen = list(self.header_variables)
        seen += [v for v in self.body_variables if v not in seen]
        return tuple(seen)


def template_shape(components: Sequence[Mapping[str, Any]], parameter_format: str) -> TemplateShape:
    """The send-time needs of a template from its components as Meta returned them."""
    header_format, header_vars, body_vars = "", (), ()
    buttons: list[ButtonSlot] = []
    for component in components or ():
        kind = str(component.get("type") or "").upper()
        if kind == "HEADER":
            header_format = str(component.get("format") or "TEXT").upper()
            if header_format == "TEXT":
                header_vars = tuple(placeholders(str(component.get("text") or "")))
        elif kind == "BODY":
            body_vars = tuple(placeholders(str(component.get("text") or "")))
        elif kind == "BUTTONS":
            for index, button in enumerate(component.get("buttons") or ()):
                button_type = str(button.get("type") or "").upper()
                if button_type == "URL" and placeholders(str(button.get("url") or "")):
                    buttons.append(ButtonSlot(index, "url", required=True))
                elif button_type == "QUICK_REPLY":
                    buttons.append(ButtonSlot(index, "quick_reply", required=False))
                elif button_type == "COPY_CODE":
                    buttons.append(ButtonSlot(index, "copy_code", required=True))
    return TemplateShape(
        header_format=header_format,
        header_variables=header_vars,
        body_variables=body_vars,
        buttons=tuple(buttons),
        named=str(parameter_format or "").upper() == "NAMED",
    )


def _value(value: Any, field: str) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ParameterError(field, "Must be a text (or a number).")
    text = str(value)
    if not text.strip():
        raise ParameterError(field, "Must not be empty.")
    if len(text) > PARAMETER_TEXT_MAX:
        raise ParameterError(field, f"At most {PARAMETER_TEXT_MAX} characters.")
    if _BAD_SPACING_RE.search(text):
        raise ParameterError(
            field, "Must not contain new lines, tabs or more than 4 consecutive spaces."
        )
    return text


def _values(shape: TemplateShape, parameters: Any) -> dict[str, str]:
    """Variable name (or number) -> value, every variable present, nothing unknown."""
    wanted = shape.variables
    if shape.named:
        if parameters is None:
            parameters = {}
        if not isinstance(parameters, Mapping):
            raise ParameterError(
                "template.parameters", "This template has named variables: give an object."
            )
        for name in wanted:
            if name not in parameters:
                raise ParameterError(f"template.parameters.{name}", f"Missing: {{{{{name}}}}}.")
        for name in parameters:
            if name not in wanted:
                raise ParameterError(
                    f"template.parameters.{name}", "The template has no such variable."
                )
        return {n: _value(parameters[n], f"template.parameters.{n}") for n in wanted}
    if parameters is None:
        parameters = []
    if not isinstance(parameters, list):
        raise ParameterError(
            "template.parameters", "This template has numbered variables: give a list."
        )
    numbers = sorted(wanted, key=int)
    if len(parameters) != len(numbers):
        raise ParameterError(
            "template.parameters",
            f"The template has {len(numbers)} variable(s); {len(parameters)} given.",
        )
    return {
        number: _value(parameters[i], f"template.parameters[{i}]")
        for i, number in enumerate(numbers)
    }


def _text_parameter(shape: TemplateShape, name: str, value: str) -> dict[str, Any]:
    parameter: dict[str, Any] = {"type": "text", "text": value}
    if shape.named:
        parameter["parameter_name"] = name
    return parameter


def _header_component(shape: TemplateShape, header: Any, values: dict[str, str]) -> dict | None:
    fmt = shape.header_format
    if fmt in ("", "TEXT"):
        positional_text = bool(shape.header_variables) and not shape.named
        if header is not None and not positional_text:
            raise ParameterError("template.header", "This template's header takes no value.")
        if not shape.header_variables:
            return None
        name = shape.header_variables[0]
        if positional_text:
            if not isinstance(header, Mapping) or "text" not in header:
                raise ParameterError("template.header.text", "The header's {{1}} needs a value.")
            value = _value(header["text"], "template.header.text")
        else:
            value = values[name]
        return {"type": "header", "parameters": [_text_parameter(shape, name, value)]}
    kind = fmt.lower()
    if not isinstance(header, Mapping):
        raise ParameterError("template.header", f"This template's header needs an {kind}.")
    if str(header.get("type") or kind).lower() != kind:
        raise ParameterError("template.header.type", f"The header is an {kind}, not that.")
    obj = header.get(kind)
    if not isinstance(obj, Mapping):
        raise ParameterError(f"template.header.{kind}", f"Give the {kind}.")
    if kind == "location":
        for key in ("latitude", "longitude"):
            if not isinstance(obj.get(key), int | float) or isinstance(obj.get(key), bool):
                raise ParameterError(f"template.header.location.{key}", "Must be a number.")
        built = {k: obj[k] for k in ("latitude", "longitude", "name", "address") if k in obj}
    else:
        refs = [k for k in _MEDIA_REF_KEYS if obj.get(k)]
        if len(refs) != 1 or not isinstance(obj[refs[0]], str):
            raise ParameterError(f"template.header.{kind}", "Give exactly one of id or link.")
        if refs[0] == "link" and not obj["link"].startswith(("https://", "http://")):
            raise ParameterError(f"template.header.{kind}.link", "Must be an http(s) URL.")
        built = {refs[0]: obj[refs[0]]}
        if kind == "document" and isinstance(obj.get("filename"), str):
            built["filename"] = obj["filename"]
    return {"type": "header", "parameters": [{"type": kind, kind: built}]}


_BUTTON_KEYS = {"url": "url_suffix", "quick_reply": "payload", "copy_code": "coupon_code"}


def _button_components(shape: TemplateShape, buttons: Any) -> list[dict[str, Any]]:
    if buttons is None:
        buttons = []
    if not isinstance(buttons, list):
        raise ParameterError("template.buttons", "Must be a list.")
    slots = {slot.index: slot for slot in shape.buttons}
    given: dict[int, Mapping[str, Any]] = {}
    for position, item in enumerate(buttons):
        where = f"template.buttons[{position}]"
        if not isinstance(item, Mapping):
            raise ParameterError(where, "Must be an object with index and a value.")
        index = item.get("index")
        if isinstance(index, str) and index.isdigit():
            index = int(index)
        if not isinstance(index, int) or isinstance(index, bool) or index not in slots:
            raise ParameterError(f"{where}.index", "The template has no such button taking one.")
        if index in given:
            raise ParameterError(f"{where}.index", "Given twice.")
        given[index] = item
    built = []
    for slot in shape.buttons:
        key = _BUTTON_KEYS[slot.sub_type]
        item = given.get(slot.index)
        field = f"template.buttons[{slot.index}].{key}"
        if item is None or key not in item:
            if slot.required:
                raise ParameterError(field, f"Button {slot.index} needs its {key}.")
            continue
        value = _value(item[key], field)
        if slot.sub_type == "url":
            parameter: dict[str, Any] = {"type": "text", "text": value}
        elif slot.sub_type == "quick_reply":
            parameter = {"type": "payload", "payload": value}
        else:
            parameter = {"type": "coupon_code", "coupon_code": value}
        built.append(
            {
                "type": "button",
                "sub_type": slot.sub_type,
                "index": str(slot.index),
                "parameters": [parameter],
            }
        )
    return built


def components_build(
    *,
    components: Sequence[Mapping[str, Any]],
    parameter_format: str,
    parameters: Any = None,
    header: Any = None,
    buttons: Any = None,
) -> list[dict[str, Any]]:
    """Meta's send `components` for a stored template; raises `ParameterError`."""
    shape = template_shape(components, parameter_format)
    values = _values(shape, parameters)
    built: list[dict[str, Any]] = []
    header_component = _header_component(shape, header, values)
    if header_component is not None:
        built.append(header_component)
    if shape.body_variables:
        built.append(
            {
                "type": "body",
                "parameters": [
                    _text_parameter(shape, name, values[name]) for name in shape.body_variables
                ],
            }
        )
    built += _button_components(shape, buttons)
    return built


__all__ = [
    "MEDIA_HEADER_FORMATS",
    "ButtonSlot",
    "ParameterError",
    "TemplateShape",
    "components_build",
    "template_shape",
]
