"""Building webhook payloads exactly as Meta shapes them (Meta: webhooks overview,
messages webhook reference, status webhook reference, message templates reference,
business-scoped user ids).

Pure functions over plain data plus the `SandboxState` (for media the customer "sends", which is
stored so that `GET /{version}/{media_id}` and the download URL work, and for customer windows).

Meta pages:
- messages reference: https://developers.facebook.com/docs/whatsapp/cloud-api/reference/messages
- mark-as-read: https://developers.facebook.com/documentation/business-messaging/whatsapp/messages/mark-message-as-read/
- business-scoped user ids: https://developers.facebook.com/documentation/business-messaging/whatsapp/business-scoped-user-ids/
"""

from __future__ import annotations

import base64
import copy
import hashlib
import time
from typing import Any

from whatsapp.graph.facts import MEDIA_TYPES
from whatsapp.sandbox.state import PhoneNumber, SandboxState, SentMessage, Template, new_wamid

DEFAULT_MIME = {
    "image": "image/jpeg",
    "video": "video/mp4",
    "audio": "audio/mpeg",
    "voice": "audio/ogg; codecs=opus",
    "document": "application/pdf",
    "sticker": "image/webp",
}
_MAGIC = {
    "image/jpeg": b"\xff\xd8\xff\xe0",
    "video/mp4": b"\x00\x00\x00\x18ftypmp42",
    "audio/mpeg": b"ID3\x04",
    "audio/ogg; codecs=opus": b"OggS\x00\x02",
    "application/pdf": b"%PDF-1.4\n",
    "image/webp": b"RIFF\x00\x00\x00\x00WEBPVP8 ",
}
INBOUND_TYPES = (
    "text",
    *MEDIA_TYPES,
    "location",
    "contacts",
    "interactive",
    "button",
    "reaction",
    "order",
    "system",
    "edit",
    "revoke",
    "unsupported",
)


def deterministic_bytes(mime_type: str, seed: str, size: int = 2048) -> bytes:
    """Stable fake file content: a plausible magic header then sha256-chained filler."""
    out = bytearray(_MAGIC.get(mime_type, b""))
    block = hashlib.sha256(f"{mime_type}:{seed}".encode()).digest()
    while len(out) < size:
        out += block
        block = hashlib.sha256(block).digest()
    return bytes(out[:size])


def envelope(changes: list[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    """`{"object": "whatsapp_business_account", "entry": [...]}`; changes grouped by WABA id."""
    entries: dict[str, list[dict[str, Any]]] = {}
    for waba_id, change in changes:
        entries.setdefault(waba_id, []).append(change)
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": waba_id, "changes": items} for waba_id, items in entries.items()],
    }


def messages_change(number: PhoneNumber, **value_parts: Any) -> dict[str, Any]:
    """A `field: messages` change for one phone number (`contacts`, `messages`, `statuses`...)."""
    value: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "metadata": {
            "display_phone_number": number.display_phone_number,
            "phone_number_id": number.phone_number_id,
        },
    }
    value.update({k: v for k, v in value_parts.items() if v is not None})
    return {"field": "messages", "value": value}


def _digits(value: str | None) -> str | None:
    return "".join(ch for ch in value if ch.isdigit()) if value else None


def _media_object(state: SandboxState, number: PhoneNumber, spec: dict[str, Any]) -> dict:
    kind = spec["type"]
    obj = dict(spec.get("message") or {})
    voice = bool(obj.get("voice", False))
    mime = obj.get("mime_type") or spec.get("mime_type")
    mime = mime or DEFAULT_MIME["voice" if kind == "audio" and voice else kind]
    if spec.get("data_base64") is not None:
        data = base64.b64decode(spec["data_base64"])
    else:
        data = deterministic_bytes(mime, str(spec.get("seed", "sandbox")))
    if kind == "document":
        obj.setdefault("filename", spec.get("filename") or "document.pdf")
    item = state.add_media(
        data, mime, filename=obj.get("filename"), phone_number_id=number.phone_number_id
    )
    result = {"id": item.id, "mime_type": mime, "sha256": item.sha256}
    if kind == "audio":
        result["voice"] = voice
    if kind == "sticker":
        result["animated"] = bool(obj.get("animated", False))
    for key in ("caption", "filename", "url"):
        if obj.get(key) is not None and not (key == "caption" and kind in ("audio", "sticker")):
            result[key] = obj[key]
    return result


def _default_object(kind: str) -> Any:
    defaults: dict[str, Any] = {
        "text": {"body": "hi"},
        "location": {"latitude": 38.7223, "longitude": -9.1393, "name": "Lisbon", "address": "PT"},
        "contacts": [
            {
                "name": {"formatted_name": "Ana Silva", "first_name": "Ana", "last_name": "Silva"},
                "phones": [{"phone": "+15550001234", "wa_id": "15550001234", "type": "CELL"}],
            }
        ],
        "interactive": {"type": "button_reply", "button_reply": {"id": "btn_yes", "title": "Yes"}},
        "button": {"payload": "QUICK_REPLY_PAYLOAD", "text": "Yes"},
        "reaction": {"message_id": "wamid.unknown", "emoji": "\U0001f44d"},
        "order": {
            "catalog_id": "100000000000099",
            "text": "my order",
            "product_items": [
                {
                    "product_retailer_id": "sku-1",
                    "quantity": 1,
                    "item_price": 9.99,
                    "currency": "USD",
                }
            ],
        },
        "system": {
            "type": "user_changed_number",
            "body": "User A changed from 15551234567 to 15557654321",
            "wa_id": "15557654321",
        },
        "edit": {"original_message_id": "wamid.unknown", "message": {}},
        "revoke": {"original_message_id": "wamid.unknown"},
        "unsupported": {"type": "unknown"},
    }
    return copy.deepcopy(defaults.get(kind, {}))


def inbound_message(state: SandboxState, spec: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """(waba_id, change) for a customer message described by the control API `spec`.

    Stores generated media, remembers the wamid for mark-as-read, registers the sender's wa_id
    (sends to another form of the number resolve to it) and opens the 24 h window.
    """
    kind = spec.get("type", "text")
    if kind not in INBOUND_TYPES:
        raise ValueError(f"type must be one of {', '.join(INBOUND_TYPES)}")
    number = state.phone_number(str(spec["phone_number_id"]))
    wa_id = _digits(spec.get("from"))
    user_id = spec.get("user_id")
    if not wa_id and not user_id:
        raise ValueError("from (phone number) or user_id (BSUID) is required")
    if wa_id:
        state.register_customer(wa_id)  # a user who writes in has this wa_id
    wamid = spec.get("id") or new_wamid(wa_id or user_id or "")
    message: dict[str, Any] = {}
    if wa_id:
        message["from"] = wa_id
    if user_id:
        message["from_user_id"] = user_id
    message |= {"id": wamid, "timestamp": str(int(spec.get("timestamp") or time.time()))}
    message["type"] = kind
    if kind in MEDIA_TYPES:
        message[kind] = _media_object(state, number, spec)
    elif kind == "unsupported":
        message["errors"] = spec.get("errors") or [
            {
                "code": 131051,
                "title": "Message type unknown",
                "message": "Message type unknown",
                "error_data": {"details": "Message type is currently not supported."},
            }
        ]
        message["unsupported"] = spec.get("message") or _default_object(kind)
    else:
        obj = _default_object(kind)
        given = spec.get("message")
        if kind == "contacts":
            obj = (given or {}).get("contacts", obj) if isinstance(given, dict) else given or obj
        elif given:
            obj.update(given)
        if kind == "edit" and not obj.get("message"):
            obj["message"] = {"type": "text", "text": {"body": "edited text"}}
        message[kind] = obj
    for key in ("context", "referral", "errors"):
        if spec.get(key) and key not in message:
            message[key] = spec[key]
    contact: dict[str, Any] = {"profile": {"name": spec.get("profile_name") or "Sandbox Customer"}}
    if spec.get("username"):
        contact["profile"]["username"] = spec["username"]
    if wa_id:
        contact["wa_id"] = wa_id
    if user_id:
        contact["user_id"] = user_id
    if spec.get("parent_user_id"):
        contact["parent_user_id"] = spec["parent_user_id"]
    with state.lock:
        state.inbound[wamid] = {"phone_number_id": number.phone_number_id, "from": wa_id or user_id}
    # The window opens when the customer wrote (`timestamp`), not when the webhook went out.
    written = float(spec["timestamp"]) if spec.get("timestamp") else None
    state.open_window(number.phone_number_id, [c for c in (wa_id, user_id) if c], at=written)
    return number.waba_id, messages_change(number, contacts=[contact], messages=[message])


def status_object(
    sent: SentMessage,
    status: str,
    *,
    errors: list[dict[str, Any]] | None = None,
    timestamp: float | None = None,
) -> dict[str, Any]:
    """One `statuses[]` item for a message we accepted (Meta: status webhook
    reference, per-message pricing)."""
    obj: dict[str, Any] = {
        "id": sent.wamid,
        "status": status,
        "timestamp": str(int(timestamp or time.time())),
    }
    if sent.wa_id:
        obj["recipient_id"] = sent.wa_id
    if sent.user_id:
        obj["recipient_user_id"] = sent.user_id
    if sent.biz_opaque_callback_data:
        obj["biz_opaque_callback_data"] = sent.biz_opaque_callback_data
    if status == "failed":
        obj["errors"] = errors or [
            {
                "code": 131026,
                "title": "Message undeliverable",
                "message": "Message undeliverable",
                "error_data": {"details": "Message Undeliverable."},
            }
        ]
    elif status in ("sent", "delivered", "read"):
        conversation: dict[str, Any] = {
            "id": hashlib.sha256(f"{sent.phone_number_id}:{sent.wa_id}".encode()).hexdigest()[:32],
            "origin": {"type": sent.category},
        }
        if status == "sent":
            conversation["expiration_timestamp"] = str(int(sent.created_at) + 24 * 3600)
        obj["conversation"] = conversation
        obj["pricing"] = {
            "billable": sent.pricing_type == "regular",
            "pricing_model": "PMP",
            "category": sent.category,
            "type": sent.pricing_type,
        }
    if errors and status != "failed":
        obj["errors"] = errors
    return obj


def template_status_change(
    template: Template, event: str, reason: str = "NONE", extra: dict | None = None
) -> dict:
    """A `message_template_status_update` change (routed by WABA, no metadata); `extra` adds
    `other_info` (pauses), `rejection_info`, `disable_info` as Meta does."""
    change = {
        "field": "message_template_status_update",
        "value": {
            "event": event,
            "message_template_id": int(template.id),
            "message_template_name": template.name,
            "message_template_language": template.language,
            "reason": reason,
            "message_template_category": template.category,
        },
    }
    change["value"].update(extra or {})
    return change


def template_quality_change(template: Template, previous: str, new: str) -> dict:
    """A `message_template_quality_update` change (Meta: webhooks reference)."""
    return {
        "field": "message_template_quality_update",
        "value": {
            "previous_quality_score": previous,
            "new_quality_score": new,
            "message_template_id": int(template.id),
            "message_template_name": template.name,
            "message_template_language": template.language,
        },
    }


def template_category_change(
    template: Template, new: str, *, previous: str | None = None, effective_at: int | None = None
) -> dict:
    """A `template_category_update` change: announced (`correct_category`,
    `category_update_timestamp`) when `effective_at` is given, else done (`previous_category`).
    https://developers.facebook.com/documentation/business-messaging/whatsapp/webhooks/reference/template_category_update/
    """
    value: dict = {
        "message_template_id": int(template.id),
        "message_template_name": template.name,
        "message_template_language": template.language,
        "new_category": new,
    }
    if effective_at is not None:
        value |= {"correct_category": new, "category_update_timestamp": effective_at}
    else:
        value["previous_category"] = previous
    return {"field": "template_category_update", "value": value}
