"""Validation helpers and the interactive/template objects of `whatsapp.graph.payloads`.

Limits are Meta's (Meta: messages reference): a
payload that passes here can still be refused by Meta
(e.g. a template whose parameters do not match the approved one: 132000), but never for a
shape or length we could have checked.

Meta pages:
- messages reference: https://developers.facebook.com/docs/whatsapp/cloud-api/reference/messages
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

BODY_MAX = 1024
FOOTER_MAX = 60
HEADER_TEXT_MAX = 60
BUTTON_ID_MAX = 256
BUTTON_TITLE_MAX = 20
MAX_BUTTONS = 3
LIST_BUTTON_MAX = 20
MAX_SECTIONS = 10
MAX_ROWS = 10
ROW_ID_MAX = 200
ROW_TITLE_MAX = 24
ROW_DESCRIPTION_MAX = 72
SECTION_TITLE_MAX = 24
CTA_TEXT_MAX = 20
_TEMPLATE_NAME_RE = re.compile(r"^[a-z0-9_]{1,512}$")
_MEDIA_PARAMETER_TYPES = {"image", "video", "document"}


class PayloadError(ValueError):
    """Invalid message content; `field` is the dotted path of the culprit (`text.body`)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def mapping(value: Any, field: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise PayloadError(field, "must be an object")
    return value


def check_keys(value: Mapping[str, Any], field: str, allowed: Iterable[str]) -> None:
    unknown = sorted(set(value) - set(allowed))
    if unknown:
        raise PayloadError(f"{field}.{unknown[0]}", "is not a known field")


def text(value: Any, field: str, max_len: int = 4096, *, required: bool = True) -> Any:
    """A non-blank string of at most `max_len` characters; None when optional and absent."""
    if value is None or value == "":
        if required:
            raise PayloadError(field, "is required")
        return None
    if not isinstance(value, str):
        raise PayloadError(field, "must be a string")
    if not value.strip():
        raise PayloadError(field, "must not be blank")
    if len(value) > max_len:
        raise PayloadError(field, f"must be at most {max_len} characters")
    return value


def https_url(value: Any, field: str) -> str:
    url = text(value, field, 2000)
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.netloc:
        raise PayloadError(field, "must be an https:// URL")
    return url


def media_ref(value: Mapping[str, Any], field: str) -> dict[str, Any]:
    """`{"id": ...}` or `{"link": "https://..."}`: exactly one of them."""
    has_id, has_link = bool(value.get("id")), bool(value.get("link"))
    if has_id == has_link:
        raise PayloadError(f"{field}.id", "give either a media id or an https link")
    if has_id:
        return {"id": text(value["id"], f"{field}.id", 256)}
    return {"link": https_url(value["link"], f"{field}.link")}


# --- Interactive (Meta: messages reference, "interactive") --------------------------------


def _text_part(value: Any, field: str, max_len: int, *, required: bool) -> dict[str, str] | None:
    """Meta's `{"text": ...}` shape; a plain string is accepted too."""
    if isinstance(value, Mapping):
        check_keys(value, field, {"text"})
        value = value.get("text")
    elif value is not None and not isinstance(value, str):
        raise PayloadError(field, "must be an object with text")
    result = text(value, f"{field}.text", max_len, required=required)
    return {"text": result} if result is not None else None


def _header(value: Any, kinds: set[str]) -> dict[str, Any]:
    header = mapping(value, "interactive.header")
    kind = header.get("type")
    if kind not in kinds:
        raise PayloadError("interactive.header.type", f"must be one of {', '.join(sorted(kinds))}")
    check_keys(header, "interactive.header", {"type", kind})
    if kind == "text":
        return {
            "type": "text",
            "text": text(header.get("text"), "interactive.header.text", HEADER_TEXT_MAX),
        }
    ref = mapping(header.get(kind), f"interactive.header.{kind}")
    return {"type": kind, kind: media_ref(ref, f"interactive.header.{kind}")}


def _buttons_action(action: Mapping[str, Any]) -> dict[str, Any]:
    check_keys(action, "interactive.action", {"buttons"})
    buttons = action.get("buttons")
    field = "interactive.action.buttons"
    if not isinstance(buttons, list) or not 1 <= len(buttons) <= MAX_BUTTONS:
        raise PayloadError(field, f"must hold 1 to {MAX_BUTTONS} reply buttons")
    built, seen = [], set()
    for i, button in enumerate(buttons):
        button = mapping(button, f"{field}[{i}]")
        if button.get("type", "reply") != "reply":
            raise PayloadError(f"{field}[{i}].type", "must be 'reply'")
        reply = mapping(button.get("reply"), f"{field}[{i}].reply")
        button_id = text(reply.get("id"), f"{field}[{i}].reply.id", BUTTON_ID_MAX)
        title = text(reply.get("title"), f"{field}[{i}].reply.title", BUTTON_TITLE_MAX)
        if button_id in seen:
            raise PayloadError(field, f"button ids must be unique ({button_id!r} repeats)")
        seen.add(button_id)
        built.append({"type": "reply", "reply": {"id": button_id, "title": title}})
    return {"buttons": built}


def _list_action(action: Mapping[str, Any]) -> dict[str, Any]:
    check_keys(action, "interactive.action", {"button", "sections"})
    field = "interactive.action.sections"
    sections = action.get("sections")
    if not isinstance(sections, list) or not 1 <= len(sections) <= MAX_SECTIONS:
        raise PayloadError(field, f"must hold 1 to {MAX_SECTIONS} sections")
    built: list[dict[str, Any]] = []
    row_ids: set[str] = set()
    for i, section in enumerate(sections):
        section = mapping(section, f"{field}[{i}]")
        check_keys(section, f"{field}[{i}]", {"title", "rows"})
        # Meta requires section titles once there is more than one section.
        title = text(
            section.get("title"),
            f"{field}[{i}].title",
            SECTION_TITLE_MAX,
            required=len(sections) > 1,
        )
        rows = section.get("rows")
        if not isinstance(rows, list) or not rows:
            raise PayloadError(f"{field}[{i}].rows", "must be a non-empty list")
        built_rows = []
        for j, row in enumerate(rows):
            where = f"{field}[{i}].rows[{j}]"
            row = mapping(row, where)
            check_keys(row, where, {"id", "title", "description"})
            built_row = {
                "id": text(row.get("id"), f"{where}.id", ROW_ID_MAX),
                "title": text(row.get("title"), f"{where}.title", ROW_TITLE_MAX),
            }
            description = text(
                row.get("description"), f"{where}.description", ROW_DESCRIPTION_MAX, required=False
            )
            if description is not None:
                built_row["description"] = description
            if built_row["id"] in row_ids:
                raise PayloadError(f"{where}.id", "row ids must be unique")
            row_ids.add(built_row["id"])
            built_rows.append(built_row)
        built.append({**({"title": title} if title else {}), "rows": built_rows})
    if len(row_ids) > MAX_ROWS:
        raise PayloadError(field, f"must hold at most {MAX_ROWS} rows in total")
    button = text(action.get("button"), "interactive.action.button", LIST_BUTTON_MAX)
    return {"button": button, "sections": built}


def _cta_url_action(action: Mapping[str, Any]) -> dict[str, Any]:
    check_keys(action, "interactive.action", {"name", "parameters"})
    if action.get("name", "cta_url") != "cta_url":
        raise PayloadError("interactive.action.name", "must be 'cta_url'")
    params = mapping(action.get("parameters"), "interactive.action.parameters")
    check_keys(params, "interactive.action.parameters", {"display_text", "url"})
    return {
        "name": "cta_url",
        "parameters": {
            "display_text": text(
                params.get("display_text"),
                "interactive.action.parameters.display_text",
                CTA_TEXT_MAX,
            ),
            "url": https_url(params.get("url"), "interactive.action.parameters.url"),
        },
    }


def _flow_action(action: Mapping[str, Any]) -> dict[str, Any]:
    if action.get("name", "flow") != "flow":
        raise PayloadError("interactive.action.name", "must be 'flow'")
    field = "interactive.action.parameters"
    params = dict(mapping(action.get("parameters"), field))
    params.setdefault("flow_message_version", "3")
    if not params.get("flow_id") and not params.get("flow_name"):
        raise PayloadError(f"{field}.flow_id", "flow_id or flow_name is required")
    text(params.get("flow_cta"), f"{field}.flow_cta", 30)
    if params.get("mode", "published") not in {"published", "draft"}:
        raise PayloadError(f"{field}.mode", "must be 'published' or 'draft'")
    if params.get("flow_action", "navigate") not in {"navigate", "data_exchange"}:
        raise PayloadError(f"{field}.flow_action", "must be 'navigate' or 'data_exchange'")
    return {"name": "flow", "parameters": copy.deepcopy(params)}


_ACTIONS = {
    "button": (_buttons_action, {"text", "image", "video", "document"}),
    "list": (_list_action, {"text"}),
    "cta_url": (_cta_url_action, {"text", "image", "video", "document"}),
    "flow": (_flow_action, {"text", "image", "video", "document"}),
}


def interactive_object(content: Mapping[str, Any]) -> dict[str, Any]:
    """An `interactive` object of type button, list, cta_url or flow (Meta: messages reference)."""
    kind = content.get("type")
    if kind not in _ACTIONS:
        raise PayloadError("interactive.type", f"must be one of {', '.join(_ACTIONS)}")
    check_keys(content, "interactive", {"type", "header", "body", "footer", "action"})
    build_action, header_kinds = _ACTIONS[kind]
    obj: dict[str, Any] = {"type": kind}
    if content.get("header") is not None:
        obj["header"] = _header(content["header"], header_kinds)
    obj["body"] = _text_part(content.get("body"), "interactive.body", BODY_MAX, required=True)
    footer = _text_part(content.get("footer"), "interactive.footer", FOOTER_MAX, required=False)
    if footer is not None:
        obj["footer"] = footer
    obj["action"] = build_action(mapping(content.get("action"), "interactive.action"))
    return obj


# --- Templates (Meta: messages reference, "template") -------------------------------------


def _template_parameter(value: Any, field: str) -> dict[str, Any]:
    param = mapping(value, field)
    kind = text(param.get("type"), f"{field}.type", 64)
    if kind == "text":
        text(param.get("text"), f"{field}.text", 32768)
    elif kind == "payload":
        text(param.get("payload"), f"{field}.payload", 4096)
    elif kind in _MEDIA_PARAMETER_TYPES:
        media_ref(mapping(param.get(kind), f"{field}.{kind}"), f"{field}.{kind}")
    if "parameter_name" in param:  # named-parameter templates
        text(param["parameter_name"], f"{field}.parameter_name", 512)
    # currency, date_time, location, coupon_code, action...: Meta's shapes, passed through.
    return copy.deepcopy(dict(param))


def _template_component(value: Any, field: str) -> dict[str, Any]:
    component = mapping(value, field)
    kind = text(component.get("type"), f"{field}.type", 64).lower()
    built: dict[str, Any] = {"type": kind}
    if kind == "button":
        built["sub_type"] = text(component.get("sub_type"), f"{field}.sub_type", 64)
        index = component.get("index")
        if isinstance(index, bool) or not str(index).isdigit():
            raise PayloadError(f"{field}.index", "must be the button position (0, 1, ...)")
        built["index"] = str(index)  # Meta documents the index as a string
    for key, extra in component.items():
        if key not in {"type", "sub_type", "index", "parameters"}:
            built[key] = copy.deepcopy(extra)  # e.g. carousel "cards"
    if "parameters" in component:
        params = component["parameters"]
        if not isinstance(params, list):
            raise PayloadError(f"{field}.parameters", "must be a list")
        built["parameters"] = [
            _template_parameter(p, f"{field}.parameters[{i}]") for i, p in enumerate(params)
        ]
    return built


def template_object(content: Mapping[str, Any]) -> dict[str, Any]:
    """A `template` object: name, language `{"code", "policy"}` and a LIST of components
    (Meta: messages reference; passing a dict is a classic mistake, heyoo #44)."""
    check_keys(content, "template", {"name", "language", "components"})
    name = text(content.get("name"), "template.name", 512)
    if not _TEMPLATE_NAME_RE.match(name):
        raise PayloadError("template.name", "must be lowercase letters, digits and underscores")
    language = content.get("language")
    if isinstance(language, str):
        language = {"code": language}
    language = mapping(language, "template.language")
    check_keys(language, "template.language", {"code", "policy"})
    obj: dict[str, Any] = {
        "name": name,
        "language": {
            "code": text(language.get("code"), "template.language.code", 16),
            "policy": language.get("policy", "deterministic"),
        },
    }
    components = content.get("components")
    if components is not None:
        if not isinstance(components, list):
            raise PayloadError("template.components", "must be a list of components")
        obj["components"] = [
            _template_component(c, f"template.components[{i}]") for i, c in enumerate(components)
        ]
    return obj
