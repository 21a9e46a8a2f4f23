"""Meta's template webhook changes (`entry[].changes[].value`) parsed at the edge into frozen
types, in the manner of `whatsapp.graph.updates`: tolerant (unknown statuses and reasons are
kept as Meta's strings; a value that cannot be parsed raises `ValueError`, which fails only its
own change at the gateway). No Django.

- `message_template_status_update`: `{event, message_template_id (a number),
  message_template_name, message_template_language, reason, message_template_category?,
  disable_info?: {disable_date}, other_info?: {title, description}, rejection_info?:
  {reason, recommendation}}`.
  https://developers.facebook.com/documentation/business-messaging/whatsapp/webhooks/reference/message_template_status_update/
- `message_template_quality_update`: `{previous_quality_score, new_quality_score,
  message_template_id, message_template_name, message_template_language}`.
- `template_category_update`, two shapes: announced (`correct_category`, `new_category`,
  `category_update_timestamp`, the change takes effect about 24 h later) and done
  (`previous_category`, `new_category`).
  https://developers.facebook.com/documentation/business-messaging/whatsapp/webhooks/reference/template_category_update/
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from whatsapp.graph.sanitize import text_clean


def _s(value: Any, limit: int = 255) -> str:
    if isinstance(value, bool) or value is None:
        return ""
    if isinstance(value, int | str):
        return text_clean(str(value).strip()[:limit])
    return ""


def _d(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _identity(value: Any) -> tuple[str, str, str]:
    if not isinstance(value, dict):
        raise ValueError("the change's value is not an object")
    template_id = _s(value.get("message_template_id"), 64)
    name = _s(value.get("message_template_name"), 512)
    if not template_id and not name:
        raise ValueError("no message_template_id nor message_template_name")
    return template_id, name, _s(value.get("message_template_language"), 16)


@dataclass(frozen=True)
class TemplateStatusUpdate:
    template_id: str
    name: str
    language: str
    event: str
    reason: str
    category: str
    rejection_reason: str
    recommendation: str
    pause_title: str  # FIRST_PAUSE, SECOND_PAUSE, RATE_LIMITING_PAUSE, UNPAUSE, DISABLED
    pause_description: str
    disable_date: str


@dataclass(frozen=True)
class TemplateQualityUpdate:
    template_id: str
    name: str
    language: str
    previous_score: str
    new_score: str


@dataclass(frozen=True)
class TemplateCategoryUpdate:
    """`announced`: `new_category` takes effect at `effective_at` (about 24 h after the
    announcement); otherwise the change is done and `previous_category` was the old one."""

    template_id: str
    name: str
    language: str
    new_category: str
    previous_category: str
    correct_category: str
    announced: bool
    effective_at: datetime | None


def template_status_update_parse(value: Any) -> TemplateStatusUpdate:
    template_id, name, language = _identity(value)
    event = _s(value.get("event"), 32).upper()
    if not event:
        raise ValueError("no event")
    reason = value.get("reason")
    rejection = _d(value.get("rejection_info"))
    other = _d(value.get("other_info"))
    return TemplateStatusUpdate(
        template_id=template_id,
        name=name,
        language=language,
        event=event,
        reason=_s(reason, 64) if reason is not None else "",
        category=_s(value.get("message_template_category"), 32).upper(),
        rejection_reason=_s(rejection.get("reason"), 1000),
        recommendation=_s(rejection.get("recommendation"), 2000),
        pause_title=_s(other.get("title"), 64),
        pause_description=_s(other.get("description"), 1000),
        disable_date=_s(_d(value.get("disable_info")).get("disable_date"), 64),
    )


def template_quality_update_parse(value: Any) -> TemplateQualityUpdate:
    template_id, name, language = _identity(value)
    new_score = _s(value.get("new_quality_score"), 16).upper()
    if not new_score:
        raise ValueError("no new_quality_score")
    return TemplateQualityUpdate(
        template_id=template_id,
        name=name,
        language=language,
        previous_score=_s(value.get("previous_quality_score"), 16).upper(),
        new_score=new_score,
    )


def template_category_update_parse(value: Any) -> TemplateCategoryUpdate:
    template_id, name, language = _identity(value)
    new_category = _s(value.get("new_category"), 32).upper()
    if not new_category:
        raise ValueError("no new_category")
    stamp = value.get("category_update_timestamp")
    effective_at = None
    if isinstance(stamp, int | str) and not isinstance(stamp, bool) and str(stamp).isdigit():
        effective_at = datetime.fromtimestamp(int(stamp), tz=UTC)
    announced = "correct_category" in value or effective_at is not None
    return TemplateCategoryUpdate(
        template_id=template_id,
        name=name,
        language=language,
        new_category=new_category,
        previous_category=_s(value.get("previous_category"), 32).upper(),
        correct_category=_s(value.get("correct_category"), 32).upper(),
        announced=announced,
        effective_at=effective_at,
    )
