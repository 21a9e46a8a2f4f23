"""Validation of `POST /{version}/{phone_number_id}/messages` bodies, the way Meta rejects them.

Every failure raises `MetaError` code 100 (or 131009 / 131008) whose `error_data.details` names
the offending field, e.g. `Param text['body'] is required`. Template existence and status and the
customer window are checked by the endpoint, not here (they need state).
"""

from __future__ import annotations

import re
from typing import Any

from whatsapp.graph.facts import BSUID_RE, MEDIA_TYPES
from whatsapp.sandbox.errors import MetaError, invalid_parameter

MESSAGE_TYPES = (
    "text",
    "image",
    "video",
    "audio",
    "document",
    "sticker",
    "location",
    "contacts",
    "reaction",
    "interactive",
    "template",
)
INTERACTIVE_TYPES = ("button", "list", "cta_url", "flow", "product", "product_list")
PHONE_RE = re.compile(r"^\+?\d{8,15}$")
TEXT_MAX = 4096


def _require(obj: Any, key: str, where: str) -> Any:
    if not isinstance(obj, dict) or obj.get(key) in (None, ""):
        raise invalid_parameter(f"Param {where}['{key}'] is required")
    return obj[key]


def _max_len(value: Any, limit: int, where: str) -> None:
    if isinstance(value, str) and len(value) > limit:
        raise invalid_parameter(f"Param {where} must be at most {limit} characters long")


def validate_recipient(body: dict[str, Any]) -> tuple[str, str | None, str | None]:
    """(input as sent, wa_id digits or None, BSUID or None); exactly one of to/recipient."""
    to, recipient = body.get("to"), body.get("recipient")
    if to and recipient:
        raise invalid_parameter("Only one of the parameters to or recipient may be set")
    if not to and not recipient:
        raise invalid_parameter("The parameter to is required.", code=100)
    if to:
        if not isinstance(to, str) or not PHONE_RE.match(to.strip()):
            raise invalid_parameter("Param to must be a phone number (8-15 digits)")
        return to, to.strip().lstrip("+"), None
    if not isinstance(recipient, str) or not BSUID_RE.match(recipient):
        raise invalid_parameter("Param recipient must be a business-scoped user id (e.g. US.123)")
    return recipient, None, recipient


def _media(kind: str, obj: Any) -> None:
    if not isinstance(obj, dict):
        raise invalid_parameter(f"Param {kind} is required")
    if bool(obj.get("id")) == bool(obj.get("link")):
        raise invalid_parameter(f"Param {kind} must have exactly one of id or link")
    if obj.get("link") and not str(obj["link"]).startswith(("http://", "https://")):
        raise invalid_parameter(f"Param {kind}['link'] must be an http(s) URL")
    if kind in ("audio", "sticker") and "caption" in obj:
        raise invalid_parameter(f"Param {kind}['caption'] is not allowed for {kind} messages")
    if kind != "document" and "filename" in obj:
        raise invalid_parameter(f"Param {kind}['filename'] is only allowed for documents")
    _max_len(obj.get("caption"), 1024, f"{kind}['caption']")


def _interactive(obj: Any) -> None:
    if not isinstance(obj, dict):
        raise invalid_parameter("Param interactive is required")
    kind = _require(obj, "type", "interactive")
    if kind not in INTERACTIVE_TYPES:
        raise invalid_parameter(f"Param interactive['type'] must be one of {INTERACTIVE_TYPES}")
    action = _require(obj, "action", "interactive")
    if kind in ("button", "list", "cta_url", "flow"):
        _require(obj.get("body"), "text", "interactive['body']")
    _max_len((obj.get("body") or {}).get("text"), 1024, "interactive['body']['text']")
    _max_len((obj.get("footer") or {}).get("text"), 60, "interactive['footer']['text']")
    if kind == "button":
        buttons = _require(action, "buttons", "interactive['action']")
        if not isinstance(buttons, list) or not 1 <= len(buttons) <= 3:
            raise invalid_parameter("Param interactive['action']['buttons'] must have 1-3 buttons")
        for index, button in enumerate(buttons):
            where = f"interactive['action']['buttons'][{index}]['reply']"
            reply = (button or {}).get("reply")
            _require(reply, "id", where)
            _max_len(_require(reply, "title", where), 20, where + "['title']")
            _max_len(reply["id"], 256, where + "['id']")
    elif kind == "list":
        _max_len(_require(action, "button", "interactive['action']"), 20, "action['button']")
        sections = _require(action, "sections", "interactive['action']")
        if not isinstance(sections, list) or not 1 <= len(sections) <= 10:
            raise invalid_parameter("Param interactive['action']['sections'] must have 1-10 items")
        rows = 0
        for s_index, section in enumerate(sections):
            _max_len((section or {}).get("title"), 24, f"sections[{s_index}]['title']")
            for r_index, row in enumerate((section or {}).get("rows") or []):
                where = f"interactive['action']['sections'][{s_index}]['rows'][{r_index}]"
                _max_len(_require(row, "id", where), 200, where + "['id']")
                _max_len(_require(row, "title", where), 24, where + "['title']")
                _max_len(row.get("description"), 72, where + "['description']")
                rows += 1
        if not 1 <= rows <= 10:
            raise invalid_parameter("Param interactive['action']['sections'] must have 1-10 rows")
    elif kind in ("cta_url", "flow"):
        params = _require(action, "parameters", "interactive['action']")
        if kind == "cta_url":
            where = "interactive['action']['parameters']"
            _max_len(_require(params, "display_text", where), 20, where + "['display_text']")
            _require(params, "url", where)
        else:
            where = "interactive['action']['parameters']"
            _require(params, "flow_cta", where)
            if not params.get("flow_id") and not params.get("flow_name"):
                raise invalid_parameter(f"Param {where}['flow_id'] or ['flow_name'] is required")


def _template(obj: Any) -> None:
    if not isinstance(obj, dict):
        raise invalid_parameter("Param template is required")
    _require(obj, "name", "template")
    _require(_require(obj, "language", "template"), "code", "template['language']")
    components = obj.get("components", [])
    if not isinstance(components, list):
        raise invalid_parameter("Param template['components'] must be a JSON array")
    for index, component in enumerate(components):
        _require(component, "type", f"template['components'][{index}]")


def validate_message(body: dict[str, Any]) -> str:
    """Validate a send body (not mark-as-read); returns the message type."""
    if body.get("recipient_type", "individual") not in ("individual", "group"):
        raise invalid_parameter("Param recipient_type must be individual or group")
    kind = body.get("type", "text")
    if kind not in MESSAGE_TYPES:
        raise invalid_parameter(f"Param type must be one of {', '.join(MESSAGE_TYPES)}")
    obj = body.get(kind)
    if obj is None:
        raise invalid_parameter(f"Param {kind} is required")
    if kind == "text":
        text = _require(obj, "body", "text")
        if not isinstance(text, str):
            raise invalid_parameter("Param text['body'] must be a string")
        _max_len(text, TEXT_MAX, "text['body']")
    elif kind in MEDIA_TYPES:
        _media(kind, obj)
    elif kind == "location":
        for key in ("latitude", "longitude"):
            value = _require(obj, key, "location")
            try:
                float(value)
            except (TypeError, ValueError):
                raise invalid_parameter(f"Param location['{key}'] must be a number") from None
    elif kind == "contacts":
        if not isinstance(obj, list) or not obj:
            raise invalid_parameter("Param contacts must be a non-empty array")
        for index, contact in enumerate(obj):
            _require(_require(contact, "name", f"contacts[{index}]"), "formatted_name", "name")
    elif kind == "reaction":
        _require(obj, "message_id", "reaction")
        if not isinstance(obj, dict) or "emoji" not in obj:
            raise invalid_parameter("Param reaction['emoji'] is required")
    elif kind == "interactive":
        _interactive(obj)
    elif kind == "template":
        _template(obj)
    opaque = body.get("biz_opaque_callback_data")
    _max_len(opaque, 512, "biz_opaque_callback_data")
    context = body.get("context")
    if context is not None and not (isinstance(context, dict) and context.get("message_id")):
        raise invalid_parameter("Param context['message_id'] is required")
    return kind


def validate_mark_read(body: dict[str, Any]) -> str:
    """Validate a mark-as-read (+ typing indicator) body; returns the message id."""
    message_id = body.get("message_id")
    if not message_id or not isinstance(message_id, str):
        raise MetaError(131008, details="Param message_id is required")
    indicator = body.get("typing_indicator")
    if indicator is not None and (
        not isinstance(indicator, dict) or indicator.get("type") != "text"
    ):
        raise invalid_parameter("Param typing_indicator['type'] must be text")
    return message_id
