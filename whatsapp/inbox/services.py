"""What the team does to a conversation: assign it, write a note, mark it read, reply.

Each change bumps the summary's `version` (and `changed_at`), which is what the open pages
compare to update themselves (whatsapp.inbox.selectors.inbox_stamp / conversation_stamp).
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from whatsapp.errors import WhatsAppDomainError
from whatsapp.inbox.selectors import member_exists
from whatsapp.models import Conversation, ConversationNote, WhatsAppMessage
from whatsapp.services.outbound import message_create
from whatsapp.services.read_receipts import message_mark_read

logger = logging.getLogger(__name__)

NOTE_MAX = 4000


class NotAMemberError(WhatsAppDomainError):
    """The person to assign is not a member of this organization."""

    code = "not_a_member"
    http_status = 400


class EmptyNoteError(WhatsAppDomainError):
    code = "empty_note"
    http_status = 400


def _touch(conversation_id: int, **changes: Any) -> None:
    Conversation.objects.filter(pk=conversation_id).update(
        **changes, version=F("version") + 1, changed_at=timezone.now()
    )


def conversation_assign(*, conversation: Conversation, user_id: int | None) -> None:
    """Assign the conversation to a member of the current organization (None: unassign).
    Raises NotAMemberError for anyone else (another organization's user included)."""
    if user_id is not None and not member_exists(user_id=user_id):
        raise NotAMemberError("Only a member of this organization can be assigned.", field="user")
    _touch(conversation.pk, assignee_user_id=user_id)
    logger.info("conversation %s assigned to user %s", conversation.pk, user_id)


def conversation_note_add(
    *, conversation: Conversation, text: str, author_user_id: int | None, author_label: str
) -> ConversationNote:
    """A note for the team only (never sent to the customer). Raises EmptyNoteError."""
    text = text.strip()[:NOTE_MAX]
    if not text:
        raise EmptyNoteError("Write something first.", field="text")
    with transaction.atomic():
        note = ConversationNote.objects.create(
            conversation=conversation,
            text=text,
            author_user_id=author_user_id,
            author_label=author_label,
        )
        _touch(conversation.pk)
    return note


def conversation_mark_read(*, conversation: Conversation) -> WhatsAppMessage | None:
    """Zero the unread count, then send Meta's read receipt for the customer's newest message
    (Meta marks the earlier ones read with it: blue ticks on the customer's phone). Returns that
    message, or None when the customer has not written. The count is zeroed even if Meta
    refuses the receipt, which raises MarkReadFailedError or SendingHaltedError afterwards.
    https://developers.facebook.com/documentation/business-messaging/whatsapp/messages/mark-message-as-read/
    """
    _touch(conversation.pk, unread_count=0, last_read_at=timezone.now())
    newest = (
        WhatsAppMessage.objects.filter(
            contact_id=conversation.contact_id,
            phone_number_id=conversation.phone_number_id,
            direction=WhatsAppMessage.Direction.INCOMING,
            wamid__isnull=False,
        )
        .exclude(type__in=("edit", "revoke", "system"))
        .order_by("-timestamp", "-id")
        .first()
    )
    if newest is None or newest.read_at is not None:
        return newest
    return message_mark_read(message=newest)


def conversation_reply(
    *, conversation: Conversation, text: str = "", upload: Any = None, created_by: Any = None
) -> WhatsAppMessage:
    """Queue a reply through the outbound engine (whatsapp.services.outbound.message_create:
    validation, the 24-hour window, then the send task). A file goes as an image, video, audio
    or document by its type, `text` as its caption. `created_by` (the member replying) reaches
    the outbound user hooks: the chatbot stays quiet while a person handles the conversation.
    Raises the engine's domain errors (OutsideCustomerWindowError, InvalidContentError, ...)."""
    contact = conversation.contact
    to = contact.wa_id or contact.user_id or ""
    if upload is None:
        return message_create(
            to=to,
            message_type="text",
            content={"body": text},
            phone_number_id=conversation.phone_number_id,
            created_by=created_by,
        )
    message_type = _media_type_of(getattr(upload, "content_type", "") or "")
    content: dict[str, Any] = {}
    if text and message_type != "audio":  # Meta takes no caption on audio
        content["caption"] = text
    return message_create(
        to=to,
        message_type=message_type,
        content=content,
        phone_number_id=conversation.phone_number_id,
        upload=upload,
        created_by=created_by,
    )


def _media_type_of(mime_type: str) -> str:
    base = mime_type.split(";", 1)[0].strip().lower()
    for prefix, kind in (("image/", "image"), ("video/", "video"), ("audio/", "audio")):
        if base.startswith(prefix):
            return kind
    return "document"
