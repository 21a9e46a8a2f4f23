"""`message_create`: validate an outgoing message and store it `queued` (the signal sends it)."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from billing_stub.quota import quota_use
from whatsapp.errors import (
    IdempotencyKeyReusedError,
    InvalidContentError,
)
from whatsapp.models import WhatsAppMedia, WhatsAppMessage
from whatsapp.services.media_upload import (
    media_store_upload,
    media_validate_upload,
)
from whatsapp.services.outbound.rules import (
    MEDIA_TYPES,
    PENDING_UPLOAD_ID,
    Status,
    contact_for_recipient,
    current_organization,
    message_payload,
    message_text_of,
    recipient_normalize,
    sending_number_for,
    window_check,
)

logger = logging.getLogger(__name__)


@transaction.atomic
def message_create(
    *,
    to: str,
    message_type: str,
    content: dict[str, Any],
    reply_to: str = "",
    phone_number_id: str | None = None,
    upload: Any = None,
    idempotency_key: str | None = None,
    created_by: Any = None,
) -> WhatsAppMessage:
    """Validate an outgoing message and store it `queued` in the current tenant.

    The post_save signal enqueues `send_message_task` when the transaction commits: the API,
    the admin, the ORM and campaigns share that one pipeline. `upload` (a Django UploadedFile)
    is stored as the message's WhatsAppMedia and uploaded to Meta by the task before sending.
    Raises InvalidRecipientError, InvalidContentError, NoSendingNumberError,
    OutsideCustomerWindowError, and billing's QuotaExceeded (the plan's monthly messages are
    used up) or PaymentPastDue (sending stopped): then nothing is stored. `created_by`: the
    request's user when a person (or an API key) wrote it; each hook of settings
    `WHATSAPP_OUTBOUND_USER_HOOKS` is then called with `(message=, user=)` (the chatbot's human
    takeover listens there).
    """
    organization = current_organization()
    recipient = recipient_normalize(recipient=to)
    content = dict(content or {})
    if upload is not None:
        if message_type not in MEDIA_TYPES:
            raise InvalidContentError("A file can only be sent as a media message.", field="file")
        if content.get("id") or content.get("link"):
            raise InvalidContentError("Send either a file or an id/link, not both.", field="file")
        mime_type = media_validate_upload(message_type=message_type, upload=upload)
        if message_type == "document" and not content.get("filename"):
            content["filename"] = _safe_display_name(getattr(upload, "name", "") or "")
    validation_content = dict(content, id=PENDING_UPLOAD_ID) if upload is not None else content
    message_payload(
        recipient=recipient.value,
        message_type=message_type,
        content=validation_content,
        reply_to=reply_to,
        callback_data="00000000-0000-0000-0000-000000000000",
    )
    number = sending_number_for(organization=organization, phone_number_id=phone_number_id)
    contact = contact_for_recipient(recipient=recipient)
    window_check(contact=contact, phone_number_id=number.phone_number_id, message_type=message_type)
    # Counted in this transaction before anything is stored (no file either): a refusal leaves
    # nothing, and a failure after it takes the count back with the rollback.
    quota_use(organization_id=organization.pk, limit="outbound_messages_per_month")
    message = WhatsAppMessage(
        direction=WhatsAppMessage.Direction.OUTGOING,
        status=Status.QUEUED,
        phone_number_id=number.phone_number_id,
        contact=contact,
        recipient=recipient.value,
        type=message_type,
        text=message_text_of(message_type, content),
        content=content,
        context_wamid=reply_to or "",
        timestamp=timezone.now(),
        idempotency_key=idempotency_key or None,
    )
    if upload is not None:
        # Saved with the media in one transaction: the signal's task runs after commit and
        # finds the file already attached.
        message.save()
        media_store_upload(message=message, upload=upload, mime_type=mime_type)
    else:
        message.save()
        if message_type in MEDIA_TYPES:
            media_record_referenced(message)
    if created_by is not None:
        for hook in settings.WHATSAPP_OUTBOUND_USER_HOOKS:
            import_string(hook)(message=message, user=created_by)
    logger.info(
        "outbound message queued: id=%s type=%s number=%s",
        message.pk,
        message_type,
        number.phone_number_id,
    )
    return message


def message_create_once(
    *, idempotency_key: str, to: str, message_type: str, **fields: Any
) -> tuple[WhatsAppMessage, bool]:
    """`message_create` at most once per `idempotency_key` (unique per organization).

    Returns (message, replayed): a key seen before returns its message, unchanged and not
    sent again, so a client may retry a send whose answer it never got. A key reused for
    another recipient or type raises IdempotencyKeyReusedError. Two concurrent requests with
    one key meet at the unique index: one creates, the other gets that message.
    """
    existing = WhatsAppMessage.objects.filter(idempotency_key=idempotency_key).first()
    if existing is None:
        try:
            with transaction.atomic():
                message = message_create(
                    to=to, message_type=message_type, idempotency_key=idempotency_key, **fields
                )
            return message, False
        except IntegrityError:
            existing = WhatsAppMessage.objects.filter(idempotency_key=idempotency_key).first()
            if existing is None:
                raise
    recipient = recipient_normalize(recipient=to)
    if existing.recipient != recipient.value or existing.type != message_type:
        raise IdempotencyKeyReusedError(
            "This Idempotency-Key was already used for a different message.",
            field="Idempotency-Key",
        )
    logger.info("outbound message replayed by idempotency key: id=%s", existing.pk)
    return existing, True


def _safe_display_name(name: str) -> str:
    """The uploaded file's base name, for Meta's `filename` (shown to the user, never a path)."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1].strip()
    return base[:240] or "document"


def media_record_referenced(message: WhatsAppMessage) -> None:
    """Outgoing media sent by Meta id or public link is recorded as WhatsAppMedia too."""
    content = message.content or {}
    WhatsAppMedia.objects.get_or_create(
        message=message,
        defaults={
            "media_id": str(content.get("id") or "")[:128],
            "original_filename": str(content.get("filename") or "")[:255],
            "state": WhatsAppMedia.State.REFERENCED,
        },
    )
