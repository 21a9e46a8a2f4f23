"""Applying a `messages` webhook change inside the tenant: contacts, messages, statuses.

Runs in the organization's schema (whatsapp.tasks.inbound), inside the transaction that marks
the WebhookChange processed. Every write is idempotent (unique wamid, unique contact ids, status
ranks), so a redelivered or replayed change stores nothing twice.

Tolerant by design (reference header): Meta adds message types and fields; anything we do not
know is stored with its raw JSON, never dropped, and a malformed item never fails its siblings.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import F, Value
from django.db.models.functions import Coalesce, Greatest, Least
from django.utils import timezone
from django_tenants.utils import schema_context

from whatsapp.models import Contact, WhatsAppMedia, WhatsAppMessage
from whatsapp.services.statuses import status_apply

logger = logging.getLogger(__name__)

MEDIA_TYPES = frozenset({"image", "video", "audio", "document", "sticker"})


@dataclass
class ApplyResult:
    messages_created: int = 0
    messages_duplicate: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        parts = [f"messages +{self.messages_created} ={self.messages_duplicate}"]
        if self.statuses:
            parts.append(
                "statuses " + ",".join(f"{k}:{v}" for k, v in sorted(self.statuses.items()))
            )
        return " ".join(parts)


# --- Small parsing helpers ------------------------------------------------------------------
def _str(value: Any, limit: int = 255) -> str:
    if isinstance(value, str):
        return value.strip()[:limit]
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)[:limit]
    return ""


def parse_timestamp(value: Any) -> datetime | None:
    """Meta's timestamps are strings of Unix seconds (sometimes numbers); None if unusable."""
    try:
        seconds = int(float(value))
    except (TypeError, ValueError, OverflowError):
        return None
    if seconds <= 0:
        return None
    try:
        return datetime.fromtimestamp(seconds, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


# --- Contacts (reference §16: BSUID first, phone second) ------------------------------------
def contact_upsert(
    *,
    wa_id: str | None,
    user_id: str | None,
    parent_user_id: str = "",
    username: str = "",
    name: str = "",
    seen_at: datetime,
    inbound: bool = True,
) -> Contact:
    """Find or create the contact for `user_id` (BSUID) or `wa_id`, and refresh what we know.

    Lookup order is BSUID, then phone: a contact first known by phone gains its BSUID. When a
    phone is already held by a contact with a *different* BSUID the number changed hands, so the
    new identity takes the number. Creation is insert-first (a concurrent insert loses on the
    unique index and re-reads), never check-then-insert. first/last seen only widen.
    """
    wa_id = wa_id or None
    user_id = user_id or None
    if not wa_id and not user_id:
        raise ValueError("a contact needs a wa_id or a user_id")
    contact = Contact.objects.filter(user_id=user_id).first() if user_id else None
    if contact is None and wa_id:
        contact = Contact.objects.filter(wa_id=wa_id).first()
        if contact is not None and user_id and contact.user_id and contact.user_id != user_id:
            Contact.objects.filter(pk=contact.pk).update(wa_id=None)
            logger.info(
                "contact number reassigned: contact=%s -> new identity (wa_id moved)", contact.pk
            )
            contact = None
    if contact is None:
        try:
            with transaction.atomic():
                contact = Contact.objects.create(
                    wa_id=wa_id,
                    user_id=user_id,
                    parent_user_id=parent_user_id,
                    username=username,
                    name=name,
                    first_seen=seen_at,
                    last_seen=seen_at,
                    last_inbound_at=seen_at if inbound else None,
                )
            return contact
        except IntegrityError:
            # Created concurrently (or its phone is held by a BSUID-keyed contact): re-read.
            lookup = {"user_id": user_id} if user_id else {"wa_id": wa_id}
            contact = Contact.objects.filter(**lookup).first()
            if contact is None and user_id and wa_id:
                with transaction.atomic():
                    contact = Contact.objects.create(
                        user_id=user_id, first_seen=seen_at, last_seen=seen_at
                    )
            if contact is None:
                raise
    updates: dict[str, Any] = {
        "first_seen": Least(Coalesce(F("first_seen"), Value(seen_at)), Value(seen_at)),
        "last_seen": Greatest(Coalesce(F("last_seen"), Value(seen_at)), Value(seen_at)),
        "updated_at": timezone.now(),
    }
    if inbound:
        updates["last_inbound_at"] = Greatest(
            Coalesce(F("last_inbound_at"), Value(seen_at)), Value(seen_at)
        )
    if name and name != contact.name:
        updates["name"] = name
    if username and username != contact.username:
        updates["username"] = username
    if parent_user_id and parent_user_id != contact.parent_user_id:
        updates["parent_user_id"] = parent_user_id
    if user_id and not contact.user_id:
        updates["user_id"] = user_id
    if wa_id and wa_id != contact.wa_id:
        if Contact.objects.filter(wa_id=wa_id).exclude(pk=contact.pk).exists():
            # An older phone-keyed contact of the same person; merging histories is a console
            # action, not something a webhook should do silently.
            logger.warning("contact wa_id already held by another contact: contact=%s", contact.pk)
        else:
            updates["wa_id"] = wa_id
    Contact.objects.filter(pk=contact.pk).update(**updates)
    return contact


def _profile_index(value: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """`value.contacts[]` indexed by both of their ids (and as `only` when there is just one)."""
    index: dict[str, dict[str, Any]] = {}
    contacts = value.get("contacts")
    items = [c for c in (contacts if isinstance(contacts, list) else []) if isinstance(c, dict)]
    for item in items:
        for key in ("user_id", "wa_id"):
            ident = _str(item.get(key), 160)
            if ident:
                index[f"{key}:{ident}"] = item
    if len(items) == 1:
        index["only"] = items[0]
    return index


def _sender(message: dict[str, Any], profiles: dict[str, dict[str, Any]]) -> dict[str, str]:
    wa_id = _str(message.get("from"), 32)
    user_id = _str(message.get("from_user_id"), 160)
    profile = profiles.get(f"user_id:{user_id}") or profiles.get(f"wa_id:{wa_id}") or {}
    if not profile and not wa_id and not user_id:
        # No sender id on the message but exactly one contact in the change: it is the sender.
        profile = profiles.get("only", {})
    wa_id = wa_id or _str(profile.get("wa_id"), 32)
    user_id = user_id or _str(profile.get("user_id"), 160)
    prof = _dict(profile.get("profile"))
    return {
        "wa_id": wa_id,
        "user_id": user_id,
        "parent_user_id": _str(profile.get("parent_user_id"), 160),
        "username": _str(prof.get("username"), 100),
        "name": _str(prof.get("name"), 256),
    }


# --- Message content per type (reference §5) ----------------------------------------------------
def _text_of(message_type: str, payload: Any, message: dict[str, Any]) -> str:
    """The human-readable text of a message: body, caption, title, emoji..."""
    data = _dict(payload)
    if message_type == "text":
        return _str(data.get("body"), 65536)
    if message_type in MEDIA_TYPES:
        return _str(data.get("caption"), 65536)
    if message_type == "interactive":
        for key in ("button_reply", "list_reply"):
            if isinstance(data.get(key), dict):
                return _str(data[key].get("title"), 1024)
        return _str(_dict(data.get("nfm_reply")).get("body"), 4096)
    if message_type == "button":
        return _str(data.get("text"), 1024)
    if message_type == "reaction":
        return _str(data.get("emoji"), 32)
    if message_type in ("order", "system"):
        return _str(data.get("text") or data.get("body"), 4096)
    if message_type == "location":
        return _str(data.get("name") or data.get("address"), 1024)
    if message_type == "contacts" and isinstance(payload, list):
        names = [_str(_dict(_dict(c).get("name")).get("formatted_name"), 200) for c in payload]
        return ", ".join(n for n in names if n)
    if message_type == "edit":
        inner = _dict(data.get("message"))
        inner_type = _str(inner.get("type"), 32) or next(
            (k for k in ("text", *MEDIA_TYPES) if k in inner), ""
        )
        return _text_of(inner_type, inner.get(inner_type), inner) if inner_type else ""
    return ""


def _content_of(message_type: str, message: dict[str, Any]) -> dict[str, Any]:
    """The typed payload (the object named by the type) plus the cross-type extras."""
    payload = message.get(message_type)
    if isinstance(payload, dict):
        content: dict[str, Any] = dict(payload)
    elif payload is None:
        content = {}
    else:
        content = {message_type: payload}  # e.g. `contacts` is a list
    if message_type == "interactive":
        nfm = _dict(content.get("nfm_reply"))
        response = nfm.get("response_json")
        if isinstance(response, str):
            with contextlib.suppress(ValueError):
                content["response"] = json.loads(response)
    if message_type == "system" and isinstance(message.get("identity"), dict):
        content["identity"] = message["identity"]
    for extra in ("context", "referral", "errors"):
        if message.get(extra) is not None:
            content[extra] = message[extra]
    return content


def _context_wamid(message_type: str, message: dict[str, Any]) -> str:
    """The message this one refers to: a quoted reply, a reaction's or edit's target."""
    payload = _dict(message.get(message_type))
    if message_type == "reaction":
        return _str(payload.get("message_id"))
    if message_type in ("edit", "revoke"):
        return _str(payload.get("original_message_id"))
    return _str(_dict(message.get("context")).get("id"))


def _wamid(message: dict[str, Any]) -> str:
    wamid = _str(message.get("id"))
    if wamid:
        return wamid
    # Meta always sends an id; if one ever does not, a stable id from the content still dedupes.
    canonical = json.dumps(message, sort_keys=True, separators=(",", ":")).encode()
    return "noid." + hashlib.sha256(canonical).hexdigest()


# --- Applying a change ------------------------------------------------------------------------
def inbound_change_apply(*, value: dict[str, Any], phone_number_id: str) -> ApplyResult:
    """Apply one `messages` change (`value`) in the current tenant schema.

    Stores every message (idempotent on wamid), upserts its sender, schedules media downloads
    after commit, and applies every status receipt. Items that cannot be stored (no sender id)
    are reported in the result's notes; they stay in the raw event.
    """
    result = ApplyResult()
    profiles = _profile_index(value)
    phone_number_id = phone_number_id or _str(_dict(value.get("metadata")).get("phone_number_id"))
    messages = value.get("messages")
    statuses = value.get("statuses")
    for key, items in (("messages", messages), ("statuses", statuses)):
        if items is not None and not isinstance(items, list):
            result.notes.append(f"`{key}` is not a list")
    for index, message in enumerate(messages if isinstance(messages, list) else []):
        if not isinstance(message, dict):
            result.notes.append(f"messages[{index}] is not an object")
            continue
        outcome = message_store(message=message, profiles=profiles, phone_number_id=phone_number_id)
        if outcome is None:
            result.notes.append(f"messages[{index}] has no sender id; kept in the raw event")
        elif outcome:
            result.messages_created += 1
        else:
            result.messages_duplicate += 1
    for index, status in enumerate(statuses if isinstance(statuses, list) else []):
        if not isinstance(status, dict):
            result.notes.append(f"statuses[{index}] is not an object")
            continue
        outcome = status_apply(status=status)
        result.statuses[outcome] = result.statuses.get(outcome, 0) + 1
    errors = value.get("errors")
    if isinstance(errors, list) and errors:
        # App-level problems not tied to a message (§4): worth an operator's attention.
        codes = [str(_dict(e).get("code")) for e in errors]
        logger.warning("webhook value errors: phone_number_id=%s codes=%s", phone_number_id, codes)
        result.notes.append(f"value.errors codes {codes}")
    return result


def message_store(
    *, message: dict[str, Any], profiles: dict[str, dict[str, Any]], phone_number_id: str
) -> bool | None:
    """Store one inbound message; True if created, False if already stored, None if it has no
    sender id to attach it to."""
    sender = _sender(message, profiles)
    if not sender["wa_id"] and not sender["user_id"]:
        logger.warning("inbound message without sender: wamid=%s", _str(message.get("id")))
        return None
    message_type = _str(message.get("type"), 32) or "unknown"
    timestamp = parse_timestamp(message.get("timestamp")) or timezone.now()
    contact = contact_upsert(seen_at=timestamp, **sender)
    content = _content_of(message_type, message)
    wamid = _wamid(message)
    try:
        # Insert first (a duplicate is the rare case: identical redeliveries are already
        # deduped on the raw body); the unique wamid decides, never a check-then-insert.
        with transaction.atomic():
            stored = WhatsAppMessage.objects.create(
                wamid=wamid,
                direction=WhatsAppMessage.Direction.INCOMING,
                status=WhatsAppMessage.Status.RECEIVED,
                phone_number_id=phone_number_id,
                contact=contact,
                recipient="",
                type=message_type,
                text=_text_of(message_type, message.get(message_type), message),
                content=content,
                raw=message,
                context_wamid=_context_wamid(message_type, message),
                timestamp=timestamp,
            )
    except IntegrityError:
        if WhatsAppMessage.objects.filter(wamid=wamid).exists():
            return False
        raise
    if message_type == "system":
        _apply_identity_change(contact=contact, system=_dict(message.get("system")))
    media = _dict(message.get(message_type))
    if message_type in MEDIA_TYPES and _str(media.get("id"), 128):
        media_row = WhatsAppMedia.objects.create(
            message=stored,
            media_id=_str(media.get("id"), 128),
            mime_type=_str(media.get("mime_type"), 128),
            sha256=_str(media.get("sha256"), 128),
            # Display only: storage paths never use user input (tenant_media_path).
            original_filename=_str(media.get("filename"), 255),
        )
        schema = connection.schema_name
        transaction.on_commit(lambda: _enqueue_media_download(media_row.pk, schema))
    logger.info(
        "inbound message stored: wamid=%s type=%s contact=%s",
        stored.wamid,
        message_type,
        contact.pk,
    )
    return True


def _enqueue_media_download(media_pk: int, schema: str) -> None:
    from whatsapp.tasks.inbound import media_download_task

    with schema_context(schema):
        media_download_task.delay(media_pk)


def _apply_identity_change(*, contact: Contact, system: dict[str, Any]) -> None:
    """`user_changed_number` (and `user_id_update`): the contact now has a new wa_id/BSUID.

    The sender's `from` is the old number; the system payload names the new one. If another
    contact already holds the new id (the new number wrote first) the two are left apart for a
    person to merge, and the event is logged.
    """
    kind = _str(system.get("type"), 64)
    if kind not in ("user_changed_number", "user_id_update"):
        return
    updates: dict[str, Any] = {}
    new_wa_id = _str(system.get("wa_id") or system.get("new_wa_id"), 32)
    new_user_id = _str(system.get("user_id") or system.get("new_user_id"), 160)
    if new_wa_id and new_wa_id != contact.wa_id:
        updates["wa_id"] = new_wa_id
    if new_user_id and new_user_id != contact.user_id:
        updates["user_id"] = new_user_id
    if not updates:
        return
    try:
        with transaction.atomic():
            Contact.objects.filter(pk=contact.pk).update(**updates, updated_at=timezone.now())
    except IntegrityError:
        logger.warning(
            "identity change not applied, new id held by another contact: contact=%s type=%s",
            contact.pk,
            kind,
        )
        return
    logger.info("contact identity changed: contact=%s type=%s", contact.pk, kind)
