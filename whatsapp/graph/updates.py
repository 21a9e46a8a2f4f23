"""Meta's `messages` webhook change (`entry[].changes[].value`) parsed at the edge into frozen
types, so handlers never dig in raw dicts.

Shapes follow https://developers.facebook.com/docs/whatsapp/cloud-api/webhooks/components and
https://developers.facebook.com/documentation/business-messaging/whatsapp/webhooks/reference/messages
(statuses: .../webhooks/reference/messages/status/).

Tolerant by design: Meta adds types and fields, and a customer's client can put anything in a
string. Every string goes through `text_clean` and every raw JSON tree through `_json` (which is
`json_clean` plus non-finite floats and out-of-range integers made storable), so whatever comes
out of here fits a PostgreSQL column. An item that cannot be parsed becomes an `Unparseable`
with its error; it never raises for its siblings. `messages_update_parse` itself never raises.

No Django here (house rule for `whatsapp.graph`).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from whatsapp.graph.facts import MEDIA_TYPES, timestamp_parse
from whatsapp.graph.sanitize import json_clean, text_clean

__all__ = [
    "Context",
    "Edit",
    "InboundMessage",
    "Interactive",
    "Location",
    "Media",
    "MessagesUpdate",
    "Metadata",
    "Profile",
    "Reaction",
    "StatusUpdate",
    "SystemChange",
    "Unparseable",
    "messages_update_parse",
]

TEXT_MAX = 65536
_JSON_DEPTH_MAX = 64
# jsonb stores numbers as `numeric`; keep integers in a range every consumer can do maths on.
_INT_MAX = 10**30


# --- Cleaning helpers -----------------------------------------------------------------------
def _s(value: Any, limit: int = 255) -> str:
    """A cleaned, stripped string of at most `limit` characters; numbers become their text;
    anything else (lists, objects, null, booleans) is ""."""
    if isinstance(value, str):
        return text_clean(value.strip()[:limit])
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)[:limit] if abs(value) < _INT_MAX else ""
    if isinstance(value, float) and math.isfinite(value):
        return repr(value)[:limit]
    return ""


def _d(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _json(value: Any, depth: int = 0) -> Any:
    """A JSON tree safe for `jsonb`: `json_clean`'s characters, NaN/infinity as null, huge
    integers as strings, nesting below `_JSON_DEPTH_MAX` cut to null."""
    if depth > _JSON_DEPTH_MAX:
        return None
    if isinstance(value, dict):
        return {text_clean(str(k)): _json(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json(v, depth + 1) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= _INT_MAX:
        return str(value)
    if value is None or isinstance(value, bool | int | float):
        return value
    return json_clean(value) if isinstance(value, str) else text_clean(str(value))


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return number if math.isfinite(number) else None


# --- Types ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Metadata:
    phone_number_id: str
    display_phone_number: str


@dataclass(frozen=True)
class Profile:
    """One `value.contacts[]` entry: who sent the messages of the change."""

    wa_id: str
    user_id: str
    parent_user_id: str
    username: str
    name: str


@dataclass(frozen=True)
class Context:
    """`message.context`: a quoted reply (`wamid`, `from_`) and/or forwarding flags."""

    wamid: str
    from_: str
    forwarded: bool
    frequently_forwarded: bool
    referred_product: dict[str, Any]


@dataclass(frozen=True)
class Media:
    id: str
    mime_type: str
    sha256: str
    filename: str
    caption: str
    voice: bool
    animated: bool


@dataclass(frozen=True)
class Location:
    latitude: float | None
    longitude: float | None
    name: str
    address: str
    url: str


@dataclass(frozen=True)
class Interactive:
    """A reply to our interactive message: `kind` is `button_reply`, `list_reply` or
    `nfm_reply` (a Flow); `response` is the Flow's `response_json` parsed (None if absent or
    not a JSON object)."""

    kind: str
    id: str
    title: str
    description: str
    name: str
    body: str
    response: dict[str, Any] | None


@dataclass(frozen=True)
class Reaction:
    """`emoji` "" means the reaction was removed."""

    message_id: str
    emoji: str


@dataclass(frozen=True)
class SystemChange:
    """`system` messages: `user_changed_number` (`wa_id`/`user_id` are the NEW ids),
    `user_id_update`, `customer_identity_changed`."""

    kind: str
    body: str
    wa_id: str
    user_id: str
    identity: dict[str, Any]


@dataclass(frozen=True)
class Edit:
    """The customer edited `original_message_id`; `message` is the new version (own type)."""

    original_message_id: str
    message: InboundMessage | None


@dataclass(frozen=True)
class Revoke:
    """The customer deleted `original_message_id` for everyone."""

    original_message_id: str


@dataclass(frozen=True)
class InboundMessage:
    """One `value.messages[]` item. `type` is Meta's (or "unknown"); exactly the part named by
    the type is set (`media` for the media types, ...). `content` is the type's object as JSON
    (cleaned) and `raw` the whole item (cleaned): unknown types keep everything there."""

    wamid: str  # "" when Meta sent none (the handler derives a stable id)
    type: str
    from_wa_id: str
    from_user_id: str
    timestamp: datetime | None
    text: str
    content: dict[str, Any]
    raw: dict[str, Any] = field(repr=False)
    context: Context | None = None
    referral: dict[str, Any] | None = None
    errors: tuple[dict[str, Any], ...] = ()
    media: Media | None = None
    location: Location | None = None
    contacts: tuple[dict[str, Any], ...] = ()
    interactive: Interactive | None = None
    reaction: Reaction | None = None
    system: SystemChange | None = None
    edit: Edit | None = None
    revoke: Revoke | None = None

    @property
    def refers_to(self) -> str:
        """The wamid this message is about: an edit's/revoke's original, a reaction's target,
        else the quoted message of a reply ("" if none)."""
        if self.edit is not None:
            return self.edit.original_message_id
        if self.revoke is not None:
            return self.revoke.original_message_id
        if self.reaction is not None:
            return self.reaction.message_id
        return self.context.wamid if self.context is not None else ""


@dataclass(frozen=True)
class StatusUpdate:
    """One `value.statuses[]` receipt for a message we sent."""

    wamid: str
    status: str
    timestamp: datetime | None
    recipient_id: str
    recipient_user_id: str
    callback_data: str
    errors: tuple[dict[str, Any], ...]
    pricing: dict[str, Any] | None
    conversation: dict[str, Any] | None
    raw: dict[str, Any] = field(repr=False)


@dataclass(frozen=True)
class Unparseable:
    """An item set aside: `where` is e.g. "messages[3]", `error` why, `raw` what it was."""

    where: str
    error: str
    raw: Any = field(repr=False)


@dataclass(frozen=True)
class MessagesUpdate:
    metadata: Metadata
    contacts: tuple[Profile, ...]
    messages: tuple[InboundMessage, ...]
    statuses: tuple[StatusUpdate, ...]
    errors: tuple[dict[str, Any], ...]
    unparseable: tuple[Unparseable, ...]

    def profile_for(self, message: InboundMessage) -> Profile | None:
        """The `contacts[]` entry of a message's sender (by BSUID, then phone; the only entry
        when the message names no sender)."""
        for profile in self.contacts:
            if message.from_user_id and profile.user_id == message.from_user_id:
                return profile
        for profile in self.contacts:
            if message.from_wa_id and profile.wa_id == message.from_wa_id:
                return profile
        if not message.from_wa_id and not message.from_user_id and len(self.contacts) == 1:
            return self.contacts[0]
        return None


# --- Parsers --------------------------------------------------------------------------------
def _errors(value: Any) -> tuple[dict[str, Any], ...]:
    return tuple(_json(e) for e in value if isinstance(e, dict)) if isinstance(value, list) else ()


def _profile(item: Any) -> Profile:
    if not isinstance(item, dict):
        raise ValueError("not an object")
    profile = _d(item.get("profile"))
    parsed = Profile(
        wa_id=_s(item.get("wa_id"), 32),
        user_id=_s(item.get("user_id"), 160),
        parent_user_id=_s(item.get("parent_user_id"), 160),
        username=_s(profile.get("username"), 100),
        name=_s(profile.get("name"), 256),
    )
    if not parsed.wa_id and not parsed.user_id:
        raise ValueError("no wa_id or user_id")
    return parsed


def _context(value: Any) -> Context | None:
    if not isinstance(value, dict):
        return None
    return Context(
        wamid=_s(value.get("id")),
        from_=_s(value.get("from"), 32),
        forwarded=value.get("forwarded") is True,
        frequently_forwarded=value.get("frequently_forwarded") is True,
        referred_product=_json(_d(value.get("referred_product"))),
    )


def _media(data: dict[str, Any]) -> Media:
    return Media(
        id=_s(data.get("id"), 128),
        mime_type=_s(data.get("mime_type"), 128),
        sha256=_s(data.get("sha256"), 128),
        filename=_s(data.get("filename"), 255),
        caption=_s(data.get("caption"), TEXT_MAX),
        voice=data.get("voice") is True,
        animated=data.get("animated") is True,
    )


def _interactive(data: dict[str, Any]) -> Interactive:
    kind = _s(data.get("type"), 32) or next(
        (k for k in ("button_reply", "list_reply", "nfm_reply") if isinstance(data.get(k), dict)),
        "",
    )
    part = _d(data.get(kind))
    response: dict[str, Any] | None = None
    raw_response = part.get("response_json")
    if isinstance(raw_response, str):
        try:
            decoded = json.loads(raw_response)
        except (ValueError, RecursionError):
            decoded = None
        response = _json(decoded) if isinstance(decoded, dict) else None
    elif isinstance(raw_response, dict):
        response = _json(raw_response)
    return Interactive(
        kind=kind,
        id=_s(part.get("id"), 256),
        title=_s(part.get("title"), 1024),
        description=_s(part.get("description"), 1024),
        name=_s(part.get("name"), 256),
        body=_s(part.get("body"), 4096),
        response=response,
    )


def _system(data: dict[str, Any], message: dict[str, Any]) -> SystemChange:
    return SystemChange(
        kind=_s(data.get("type"), 64),
        body=_s(data.get("body"), 4096),
        wa_id=_s(data.get("wa_id") or data.get("new_wa_id"), 32),
        user_id=_s(data.get("user_id") or data.get("new_user_id"), 160),
        identity=_json(_d(message.get("identity"))),
    )


def _text_of(kind: str, data: Any, parts: dict[str, Any]) -> str:
    """The human-readable text: body, caption, reply title, emoji, names..."""
    payload = _d(data)
    if kind == "text":
        return _s(payload.get("body"), TEXT_MAX)
    if parts.get("media") is not None:
        return parts["media"].caption
    if parts.get("interactive") is not None:
        reply = parts["interactive"]
        return reply.title or reply.body
    if parts.get("reaction") is not None:
        return parts["reaction"].emoji
    if parts.get("location") is not None:
        return parts["location"].name or parts["location"].address
    if parts.get("system") is not None:
        return parts["system"].body
    if parts.get("edit") is not None:
        new = parts["edit"].message
        return new.text if new is not None else ""
    if kind == "button":
        return _s(payload.get("text"), 1024)
    if kind == "order":
        return _s(payload.get("text"), 4096)
    if kind == "contacts" and isinstance(data, list):
        names = [_s(_d(_d(c).get("name")).get("formatted_name"), 200) for c in data]
        return ", ".join(n for n in names if n)
    return ""


def _message(item: Any, *, nested: bool = False) -> InboundMessage:
    if not isinstance(item, dict):
        raise ValueError("not an object")
    kind = _s(item.get("type"), 32)
    if not kind and nested:
        # An edit's new version may omit `type`: it is the one known key present.
        kind = next((k for k in ("text", *MEDIA_TYPES) if k in item), "")
    kind = kind or "unknown"
    data = item.get(kind)
    payload = _d(data)
    parts: dict[str, Any] = {}
    if kind in MEDIA_TYPES:
        parts["media"] = _media(payload)
    elif kind == "location":
        parts["location"] = Location(
            latitude=_number(payload.get("latitude")),
            longitude=_number(payload.get("longitude")),
            name=_s(payload.get("name"), 1024),
            address=_s(payload.get("address"), 1024),
            url=_s(payload.get("url"), 2048),
        )
    elif kind == "contacts":
        parts["contacts"] = (
            tuple(_json(c) for c in data if isinstance(c, dict)) if isinstance(data, list) else ()
        )
    elif kind == "interactive":
        parts["interactive"] = _interactive(payload)
    elif kind == "reaction":
        parts["reaction"] = Reaction(
            message_id=_s(payload.get("message_id")), emoji=_s(payload.get("emoji"), 32)
        )
    elif kind == "system":
        parts["system"] = _system(payload, item)
    elif kind == "edit" and not nested:
        inner = payload.get("message")
        try:
            new = _message(inner, nested=True) if isinstance(inner, dict) else None
        except Exception:  # an unreadable new version still marks the original edited
            new = None
        original = _s(payload.get("original_message_id"))
        parts["edit"] = Edit(original_message_id=original, message=new)
    elif kind == "revoke":
        parts["revoke"] = Revoke(original_message_id=_s(payload.get("original_message_id")))
    if isinstance(data, dict):
        content: dict[str, Any] = _json(data)
    elif data is None:
        content = {}
    else:
        content = {kind: _json(data)}
    if parts.get("interactive") is not None and parts["interactive"].response is not None:
        content["response"] = parts["interactive"].response
    return InboundMessage(
        wamid=_s(item.get("id")),
        type=kind,
        from_wa_id=_s(item.get("from"), 32),
        from_user_id=_s(item.get("from_user_id"), 160),
        timestamp=timestamp_parse(item.get("timestamp")),
        text=_text_of(kind, data, parts),
        content=content,
        raw=_json(item),
        context=_context(item.get("context")),
        referral=_json(item["referral"]) if isinstance(item.get("referral"), dict) else None,
        errors=_errors(item.get("errors")),
        **parts,
    )


def _status(item: Any) -> StatusUpdate:
    if not isinstance(item, dict):
        raise ValueError("not an object")
    wamid = _s(item.get("id"))
    if not wamid:
        raise ValueError("no id")
    return StatusUpdate(
        wamid=wamid,
        status=_s(item.get("status"), 32).lower(),
        timestamp=timestamp_parse(item.get("timestamp")),
        recipient_id=_s(item.get("recipient_id"), 32),
        recipient_user_id=_s(item.get("recipient_user_id"), 160),
        callback_data=_s(item.get("biz_opaque_callback_data"), 512),
        errors=_errors(item.get("errors")),
        pricing=_json(item["pricing"]) if isinstance(item.get("pricing"), dict) else None,
        conversation=(
            _json(item["conversation"]) if isinstance(item.get("conversation"), dict) else None
        ),
        raw=_json(item),
    )


def _error_text(exc: Exception) -> str:
    """Our own ValueErrors read as they are ("not an object"); anything else names its type."""
    message = text_clean(str(exc))[:200]
    return message if type(exc) is ValueError else f"{type(exc).__name__}: {message}"


def _safe_raw(value: Any) -> Any:
    try:
        return _json(value)
    except Exception:
        return None


def _items(value: dict[str, Any], key: str, parse: Any, aside: list[Unparseable]) -> tuple:
    items = value.get(key)
    if items is None:
        return ()
    if not isinstance(items, list):
        aside.append(Unparseable(where=key, error="not a list", raw=_safe_raw(items)))
        return ()
    parsed = []
    for index, item in enumerate(items):
        try:
            parsed.append(parse(item))
        except Exception as exc:  # one bad item never fails its siblings
            aside.append(
                Unparseable(
                    where=f"{key}[{index}]",
                    error=_error_text(exc),
                    raw=_safe_raw(item),
                )
            )
    return tuple(parsed)


def messages_update_parse(value: Any) -> MessagesUpdate:
    """Parse one `messages` change value. Never raises: what cannot be read is `unparseable`."""
    aside: list[Unparseable] = []
    if not isinstance(value, dict):
        aside.append(Unparseable(where="value", error="not an object", raw=_safe_raw(value)))
        value = {}
    metadata = _d(value.get("metadata"))
    return MessagesUpdate(
        metadata=Metadata(
            phone_number_id=_s(metadata.get("phone_number_id"), 64),
            display_phone_number=_s(metadata.get("display_phone_number"), 32),
        ),
        contacts=_items(value, "contacts", _profile, aside),
        messages=_items(value, "messages", _message, aside),
        statuses=_items(value, "statuses", _status, aside),
        errors=_errors(value.get("errors")),
        unparseable=tuple(aside),
    )
