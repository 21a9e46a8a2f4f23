"""The chatbot pages' HTML forms turned into the API's input (and rows back into form values).

Validation is the API's (`whatsapp.chatbot.api.serializers`): these functions only reshape
flat form fields into the JSON the serializers take, and the serializers' errors into one
message per form field. Menu choices are typed one per line, `id | title` (buttons) or
`id | title | description` (list rows), so a menu of any size fits one textarea.
"""

from __future__ import annotations

import json
from typing import Any

from django.http import QueryDict

from whatsapp.chatbot.hours import DAYS
from whatsapp.chatbot.models import ChatbotRule, ChatbotSettings

MEDIA_KINDS = ("image", "video", "audio", "document", "sticker")
DAY_NAMES = dict(
    zip(
        DAYS,
        ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
        strict=True,
    )
)


class FormInputError(ValueError):
    """A form field that cannot be read (`field`, message)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def _lines(text: str) -> list[list[str]]:
    return [
        [part.strip() for part in line.split("|")] for line in text.splitlines() if line.strip()
    ]


def _words(text: str) -> list[str]:
    return [w.strip() for w in text.replace("\n", ",").split(",") if w.strip()]


def reply_from_form(kind: str, form: QueryDict) -> dict[str, Any]:
    """The rule's `reply` object for `kind` from the `r_*` fields."""
    body = form.get("r_body", "").strip()
    if kind in ("text", "handoff"):
        return {"body": body} if body else {}
    if kind == "media":
        reply = {"type": form.get("r_media_type", "image")}
        for key in ("link", "caption", "filename"):
            if form.get(f"r_{key}", "").strip():
                reply[key] = form.get(f"r_{key}", "").strip()
        return reply
    if kind == "buttons":
        choices = _lines(form.get("r_choices", ""))
        buttons = [{"id": c[0], "title": c[1] if len(c) > 1 else c[0]} for c in choices]
        return {"body": body, "buttons": buttons}
    if kind == "list":
        rows = []
        for choice in _lines(form.get("r_choices", "")):
            row = {"id": choice[0], "title": choice[1] if len(choice) > 1 else choice[0]}
            if len(choice) > 2 and choice[2]:
                row["description"] = choice[2]
            rows.append(row)
        section = {"title": form.get("r_section", "").strip() or "Options", "rows": rows}
        return {"body": body, "button": form.get("r_button", "").strip(), "sections": [section]}
    if kind == "template":
        return template_from_form(form, prefix="r_template", field="reply")
    return {}


def template_from_form(form: QueryDict, *, prefix: str, field: str) -> dict[str, Any] | None:
    """`{"name", "language": {"code"}, "components"?}` from `<prefix>_name`, `_language`,
    `_components` (Meta's JSON, optional); None when no name was typed."""
    name = form.get(f"{prefix}_name", "").strip()
    if not name:
        return None
    template: dict[str, Any] = {
        "name": name,
        "language": {"code": form.get(f"{prefix}_language", "").strip() or "en_US"},
    }
    components = form.get(f"{prefix}_components", "").strip()
    if components:
        try:
            template["components"] = json.loads(components)
        except ValueError as exc:
            raise FormInputError(field, f"Components: not valid JSON ({exc}).") from exc
    return template


def rule_data_from_form(form: QueryDict) -> dict[str, Any]:
    """The API's rule object from the editor's fields; raises FormInputError."""
    kind = form.get("reply_kind", "text")
    return {
        "name": form.get("name", "").strip(),
        "enabled": form.get("enabled") == "on",
        "priority": form.get("priority") or 100,
        "phone_number_id": form.get("phone_number_id", ""),
        "step": form.get("step", "").strip(),
        "match_kind": form.get("match_kind", ""),
        "pattern": form.get("pattern", ""),
        "ignore_case": form.get("ignore_case") == "on",
        "reply_kind": kind,
        "reply": reply_from_form(kind, form) or {},
        "window_template": template_from_form(form, prefix="w", field="window_template"),
        "next_step": form.get("next_step", "").strip(),
    }


def _template_values(template: dict | None, prefix: str) -> dict[str, str]:
    template = template or {}
    language = template.get("language")
    components = template.get("components")
    return {
        f"{prefix}_name": str(template.get("name") or ""),
        f"{prefix}_language": str(
            (language.get("code") if isinstance(language, dict) else language) or ""
        ),
        f"{prefix}_components": json.dumps(components, indent=1) if components else "",
    }


def rule_form_values(rule: ChatbotRule | None) -> dict[str, Any]:
    """The editor's field values for `rule` (defaults for a new one)."""
    if rule is None:
        return {
            "enabled": True,
            "priority": 100,
            "match_kind": "contains",
            "ignore_case": True,
            "reply_kind": "text",
            "r_media_type": "image",
        }
    reply = rule.reply or {}
    choices = ""
    if rule.reply_kind == "buttons":
        choices = "\n".join(f"{b.get('id')} | {b.get('title')}" for b in reply.get("buttons", []))
    elif rule.reply_kind == "list":
        rows = [row for section in reply.get("sections", []) for row in section.get("rows", [])]
        choices = "\n".join(
            " | ".join(filter(None, (r.get("id"), r.get("title"), r.get("description"))))
            for r in rows
        )
    sections = reply.get("sections") or [{}]
    return {
        "name": rule.name,
        "enabled": rule.enabled,
        "priority": rule.priority,
        "phone_number_id": rule.phone_number_id,
        "step": rule.step,
        "match_kind": rule.match_kind,
        "pattern": rule.pattern,
        "ignore_case": rule.ignore_case,
        "reply_kind": rule.reply_kind,
        "next_step": rule.next_step,
        "r_body": reply.get("body", ""),
        "r_media_type": reply.get("type", "image"),
        "r_link": reply.get("link", ""),
        "r_caption": reply.get("caption", ""),
        "r_filename": reply.get("filename", ""),
        "r_choices": choices,
        "r_button": reply.get("button", ""),
        "r_section": sections[0].get("title", ""),
        **(_template_values(reply, "r_template") if rule.reply_kind == "template" else {}),
        **_template_values(rule.window_template, "w"),
    }


def rule_choices(rule: ChatbotRule) -> list[dict[str, str]]:
    """The menu choices (id, title) of a buttons or list rule."""
    reply = rule.reply or {}
    if rule.reply_kind == "buttons":
        return [{"id": b.get("id", ""), "title": b.get("title", "")} for b in reply["buttons"]]
    if rule.reply_kind == "list":
        return [
            {"id": r.get("id", ""), "title": r.get("title", "")}
            for section in reply.get("sections", [])
            for r in section.get("rows", [])
        ]
    return []


# --- settings --------------------------------------------------------------------------------


def _hours_text(ranges: list) -> str:
    return ", ".join(f"{start}-{end}" for start, end in ranges)


def _hours_from_text(day: str, text: str) -> list[list[str]]:
    ranges = []
    for part in _words(text):
        start, sep, end = part.partition("-")
        if not sep:
            raise FormInputError(
                "business_hours", f"{DAY_NAMES[day]}: write ranges like 09:00-17:00."
            )
        ranges.append([start.strip(), end.strip()])
    return ranges


def settings_form_values(settings: ChatbotSettings) -> dict[str, Any]:
    hours = settings.business_hours or {}
    return {
        "enabled": settings.enabled,
        "time_zone": settings.time_zone,
        **{f"hours_{day}": _hours_text(hours.get(day, [])) for day in DAYS},
        "holidays": "\n".join(settings.holidays or []),
        "welcome_text": settings.welcome_text,
        "away_text": settings.away_text,
        "notice_period_hours": settings.notice_period_hours,
        "fallback_text": settings.fallback_text,
        "takeover_hours": settings.takeover_hours,
        "session_minutes": settings.session_minutes,
        "cancel_words": ", ".join(settings.cancel_words or []),
        "opt_out_words": ", ".join(settings.opt_out_words or []),
        "opt_out_confirmation": settings.opt_out_confirmation,
        "max_replies_per_minute": settings.max_replies_per_minute,
        "external_bot_url": settings.external_bot_url,
        "external_bot_timeout_seconds": settings.external_bot_timeout_seconds,
    }


def settings_data_from_form(form: QueryDict) -> dict[str, Any]:
    """The API's settings object from the settings form; the secret only when one was typed
    (or removal asked for). Raises FormInputError."""
    hours = {day: _hours_from_text(day, form.get(f"hours_{day}", "")) for day in DAYS}
    data: dict[str, Any] = {
        "enabled": form.get("enabled") == "on",
        "time_zone": form.get("time_zone", "").strip(),
        "business_hours": hours if any(hours.values()) else {},
        "holidays": [d.strip() for d in form.get("holidays", "").split() if d.strip()],
        "cancel_words": _words(form.get("cancel_words", "")),
        "opt_out_words": _words(form.get("opt_out_words", "")),
    }
    for field in (
        "welcome_text",
        "away_text",
        "fallback_text",
        "opt_out_confirmation",
        "external_bot_url",
    ):
        data[field] = form.get(field, "").strip()
    for field in (
        "notice_period_hours",
        "takeover_hours",
        "session_minutes",
        "max_replies_per_minute",
        "external_bot_timeout_seconds",
    ):
        data[field] = form.get(field, "")
    if form.get("remove_secret") == "on":
        data["external_bot_secret"] = ""
    elif form.get("external_bot_secret", ""):
        data["external_bot_secret"] = form["external_bot_secret"]
    return data


def error_messages(errors: dict[str, Any]) -> dict[str, str]:
    """A serializer's errors as one message per field (nested lists and dicts flattened)."""

    def flat(value: Any) -> list[str]:
        if isinstance(value, dict):
            return [m for v in value.values() for m in flat(v)]
        if isinstance(value, list):
            return [m for v in value for m in flat(v)]
        return [str(value)]

    return {field: " ".join(flat(value)) for field, value in errors.items()}
