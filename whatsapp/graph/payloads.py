"""Meta's exact JSON for every outbound message type with validation (Meta:
messages reference, mark-as-read, business-scoped user ids).

`build_message_payload` takes the recipient, the type and the content object in Meta's own
shape (`{"body": ...}` for text, `{"id"|"link", "caption"?}` for media, ...) and returns the
request body for `GraphClient.send_message`. Invalid input raises `PayloadError(field, message)`
with the dotted path of the offending field (`"text.body"`, `"interactive.action.buttons"`), so
the API can answer a 400 naming the field. Unknown keys are rejected rather than forwarded:
a typo would otherwise surface as an opaque Meta error 100 after the message was queued.

Interactive and template objects are in `whatsapp.graph.payload_parts`.

Meta pages:
- messages reference: https://developers.facebook.com/docs/whatsapp/cloud-api/reference/messages
- mark-as-read: https://developers.facebook.com/documentation/business-messaging/whatsapp/messages/mark-message-as-read/
- business-scoped user ids: https://developers.facebook.com/documentation/business-messaging/whatsapp/business-scoped-user-ids/
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any

from whatsapp.graph.facts import BSUID_RE, MEDIA_TYPES
from whatsapp.graph.payload_parts import (
    PayloadError,
    check_keys,
    https_url,
    interactive_object,
    mapping,
    media_ref,
    template_object,
    text,
)

__all__ = [
    "MEDIA_TYPES",
    "MESSAGE_TYPES",
    "PayloadError",
    "build_message_payload",
    "build_payload_from_parts",
    "mark_as_read_payload",
    "recipient_field",
]

TEXT_BODY_MAX = 4096
CAPTION_MAX = 1024
CALLBACK_DATA_MAX = 512
_CAPTIONED = {"image", "video", "document"}
_PHONE_RE = re.compile(r"^\d{8,15}$")


def recipient_field(recipient: str) -> dict[str, str]:
    """`{"to": digits}` for a phone number (leading '+' stripped) or `{"recipient": bsuid}` for a
    business-scoped user id (Meta: business-scoped user ids). Full E.164 validation is the
    Django layer's job."""
    if not isinstance(recipient, str) or not recipient.strip():
        raise PayloadError("recipient", "is required")
    value = recipient.strip()
    if BSUID_RE.match(value):
        return {"recipient": value}
    digits = value.removeprefix("+")
    if _PHONE_RE.match(digits):
        return {"to": digits}
    raise PayloadError(
        "recipient", "must be 8-15 digits with country code (optional '+') or a BSUID"
    )


def _text_object(content: Mapping[str, Any]) -> dict[str, Any]:
    check_keys(content, "text", {"body", "preview_url"})
    preview = content.get("preview_url", False)
    if not isinstance(preview, bool):
        raise PayloadError("text.preview_url", "must be true or false")
    return {"body": text(content.get("body"), "text.body", TEXT_BODY_MAX), "preview_url": preview}


def _media_object(kind: str) -> Callable[[Mapping[str, Any]], dict[str, Any]]:
    def build(content: Mapping[str, Any]) -> dict[str, Any]:
        allowed = {"id", "link"}
        if kind in _CAPTIONED:
            allowed.add("caption")
        if kind == "document":
            allowed.add("filename")
        for key in ("caption", "filename"):
            if key in content and key not in allowed:
                raise PayloadError(f"{kind}.{key}", f"is not allowed for {kind} messages")
        check_keys(content, kind, allowed)
        obj = media_ref(content, kind)
        caption = text(content.get("caption"), f"{kind}.caption", CAPTION_MAX, required=False)
        if caption is not None:
            obj["caption"] = caption
        filename = text(content.get("filename"), f"{kind}.filename", 240, required=False)
        if filename is not None:
            obj["filename"] = filename
        return obj

    return build


def _coordinate(value: Any, field: str, bound: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise PayloadError(field, "must be a number")
    try:
        number = float(value)
    except ValueError:
        raise PayloadError(field, "must be a number") from None
    if not -bound <= number <= bound:
        raise PayloadError(field, f"must be between -{bound:g} and {bound:g}")
    return number


def _location_object(content: Mapping[str, Any]) -> dict[str, Any]:
    check_keys(content, "location", {"latitude", "longitude", "name", "address"})
    obj: dict[str, Any] = {
        "latitude": _coordinate(content.get("latitude"), "location.latitude", 90),
        "longitude": _coordinate(content.get("longitude"), "location.longitude", 180),
    }
    for key in ("name", "address"):
        value = text(content.get(key), f"location.{key}", 1000, required=False)
        if value is not None:
            obj[key] = value
    return obj


def _contacts_object(content: Mapping[str, Any]) -> list[dict[str, Any]]:
    contacts = content.get("contacts")
    if not isinstance(contacts, list) or not contacts:
        raise PayloadError("contacts", "must be a non-empty list of contact cards")
    cards: list[dict[str, Any]] = []
    for i, card in enumerate(contacts):
        field = f"contacts[{i}]"
        card = mapping(card, field)
        name = mapping(card.get("name"), f"{field}.name")
        text(name.get("formatted_name"), f"{field}.name.formatted_name", 1000)
        phones = card.get("phones", [])
        if not isinstance(phones, list):
            raise PayloadError(f"{field}.phones", "must be a list")
        for j, phone in enumerate(phones):
            text(mapping(phone, f"{field}.phones[{j}]").get("phone"), f"{field}.phones[{j}].phone")
        # Cards have many optional parts (emails, urls, org, addresses, birthday): pass through.
        cards.append(json.loads(json.dumps(card)))
    return cards


def _reaction_object(content: Mapping[str, Any]) -> dict[str, Any]:
    check_keys(content, "reaction", {"message_id", "emoji"})
    emoji = content.get("emoji", "")
    if emoji is None:
        emoji = ""
    if not isinstance(emoji, str) or len(emoji) > 16:
        raise PayloadError("reaction.emoji", "must be one emoji, or empty to remove the reaction")
    # An empty emoji removes our reaction (Meta: messages reference).
    return {
        "message_id": text(content.get("message_id"), "reaction.message_id", 512),
        "emoji": emoji,
    }


_BUILDERS: dict[str, Callable[[Mapping[str, Any]], Any]] = {
    "text": _text_object,
    **{kind: _media_object(kind) for kind in MEDIA_TYPES},
    "location": _location_object,
    "contacts": _contacts_object,
    "reaction": _reaction_object,
    "interactive": interactive_object,
    "template": template_object,
}
MESSAGE_TYPES = tuple(_BUILDERS)


def build_message_payload(
    *,
    recipient: str,
    message_type: str,
    content: Mapping[str, Any],
    reply_to: str | None = None,
    callback_data: str | None = None,
) -> dict[str, Any]:
    """The body of POST /{phone-number-id}/messages for one message (Meta: messages reference).

    `content` is the object Meta nests under the type key (for `contacts`: `{"contacts":
    [...]}`). `reply_to` quotes a wamid (`context.message_id`); `callback_data` is echoed in
    status webhooks (`biz_opaque_callback_data`, ≤ 512). Raises `PayloadError`.
    """
    builder = _BUILDERS.get(message_type)
    if builder is None:
        raise PayloadError("type", f"must be one of {', '.join(MESSAGE_TYPES)}")
    payload: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        **recipient_field(recipient),
        "type": message_type,
        message_type: builder(mapping(content, message_type)),
    }
    if reply_to is not None:
        payload["context"] = {"message_id": text(reply_to, "context.message_id", 512)}
    if callback_data is not None:
        payload["biz_opaque_callback_data"] = text(
            callback_data, "biz_opaque_callback_data", CALLBACK_DATA_MAX
        )
    return payload


def build_payload_from_parts(
    recipient: str,
    message_type: str,
    content: Any,
    caption: str | None = None,
    media_url: str | None = None,
) -> dict[str, Any]:
    """Adapter for the product's `send_whatsapp_message(access_token, recipient, message_type,
    content, caption, media_url)` helper: `content` is the text body for text; for media it is
    a media id or an https link (`media_url`, when given, wins); for other types it is the
    content mapping (or its JSON string). Raises `PayloadError`.
    """
    if message_type == "text":
        return build_message_payload(
            recipient=recipient, message_type="text", content={"body": content}
        )
    if message_type in MEDIA_TYPES:
        ref = media_url or content
        if not isinstance(ref, str) or not ref.strip():
            raise PayloadError(f"{message_type}.id", "a media id or https link is required")
        ref = ref.strip()
        media: dict[str, Any] = (
            {"link": https_url(ref, f"{message_type}.link")} if "://" in ref else {"id": ref}
        )
        if caption:
            media["caption"] = caption
        return build_message_payload(recipient=recipient, message_type=message_type, content=media)
    if isinstance(content, str):
        try:
            content = json.loads(content)
        except ValueError:
            raise PayloadError(message_type, "must be a JSON object") from None
    return build_message_payload(recipient=recipient, message_type=message_type, content=content)


def mark_as_read_payload(wamid: str, typing_indicator: bool = False) -> dict[str, Any]:
    """Body that marks `wamid` (and earlier messages) read, optionally with "typing…"
    (Meta: mark-as-read). Raises `PayloadError` for an empty wamid."""
    payload: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "status": "read",
        "message_id": text(wamid, "message_id", 512),
    }
    if typing_indicator:
        payload["typing_indicator"] = {"type": "text"}
    return payload
