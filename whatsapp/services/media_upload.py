"""Files uploaded through the send API: checked, stored in Django storage as the message's
`WhatsAppMedia`, then uploaded to Meta (`POST /{phone-number-id}/media`, Meta: media) by the
sending task right before the message is sent.

Why upload in the task and not in the request: the API answers at once (202) and a slow or
failing Meta upload is retried with the same policy as the send. An upload is idempotent for
our purposes (a duplicate costs Meta-side storage for 30 days, never a duplicate message), so it
may be repeated; its media id is saved on the row so a retried send does not upload again.

Limits (Meta: media): per-type MIME types and sizes; the caller's file name is only ever used
as the display `filename` of a document, never as a storage path (the path is
`tenant_media_path`: tenant prefix + random name).

Meta pages:
- media: https://developers.facebook.com/documentation/business-messaging/whatsapp/business-phone-numbers/media/
"""

from __future__ import annotations

import hashlib
import logging
import mimetypes
from typing import Any

from django.utils import timezone

from whatsapp.errors import InvalidContentError
from whatsapp.graph.client import GraphClient
from whatsapp.models import WhatsAppMedia, WhatsAppMessage

logger = logging.getLogger(__name__)

MB = 1024 * 1024
# type -> (accepted MIME types or None for "any listed document type", max bytes)
UPLOAD_RULES: dict[str, tuple[frozenset[str], int]] = {
    "image": (frozenset({"image/jpeg", "image/png"}), 5 * MB),
    "video": (frozenset({"video/mp4", "video/3gpp"}), 16 * MB),
    "audio": (
        frozenset({"audio/aac", "audio/amr", "audio/mpeg", "audio/mp4", "audio/ogg"}),
        16 * MB,
    ),
    "sticker": (frozenset({"image/webp"}), 500 * 1024),
    "document": (
        frozenset(
            {
                "application/pdf",
                "text/plain",
                "application/msword",
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                "application/vnd.ms-excel",
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                "application/vnd.ms-powerpoint",
                "application/vnd.openxmlformats-officedocument.presentationml.presentation",
            }
        ),
        100 * MB,
    ),
}


def _mime_of(upload: Any) -> str:
    declared = (getattr(upload, "content_type", "") or "").split(";", 1)[0].strip().lower()
    if declared and declared != "application/octet-stream":
        return declared
    guessed, _ = mimetypes.guess_type(getattr(upload, "name", "") or "")
    return (guessed or declared or "application/octet-stream").lower()


def media_validate_upload(*, message_type: str, upload: Any) -> str:
    """The upload's MIME type if Meta accepts it for `message_type`; raises
    InvalidContentError (field `file`) for a wrong type, an empty or an oversized file."""
    rules = UPLOAD_RULES.get(message_type)
    if rules is None:
        raise InvalidContentError("A file can only be sent as a media message.", field="file")
    accepted, max_bytes = rules
    mime_type = _mime_of(upload)
    if mime_type not in accepted:
        raise InvalidContentError(
            f"{message_type} files must be one of {', '.join(sorted(accepted))}; got {mime_type}.",
            field="file",
        )
    size = getattr(upload, "size", None) or 0
    if size <= 0:
        raise InvalidContentError("The file is empty.", field="file")
    if size > max_bytes:
        raise InvalidContentError(
            f"{message_type} files may be at most {max_bytes // 1024} KB.", field="file"
        )
    return mime_type


def media_store_upload(*, message: WhatsAppMessage, upload: Any, mime_type: str) -> WhatsAppMedia:
    """Store the uploaded file (Django storage, tenant path) as `message`'s media."""
    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    media = WhatsAppMedia(
        message=message,
        mime_type=mime_type,
        size=upload.size,
        sha256=digest.hexdigest(),
        original_filename=(getattr(upload, "name", "") or "")[:255],
        state=WhatsAppMedia.State.STORED,
        stored_at=timezone.now(),
    )
    # The name is ignored by `tenant_media_path` (random, under the tenant's prefix).
    media.file.save("upload", upload, save=False)
    media.save()
    return media


def media_upload_to_meta(*, media: WhatsAppMedia, client: GraphClient, phone_number_id: str) -> str:
    """Upload the stored file to Meta and keep its media id; returns the id.

    Counts the attempt on the media row first (bounded by the send retry policy). Raises the
    Graph client's errors.
    """
    if media.media_id:
        return media.media_id
    WhatsAppMedia.objects.filter(pk=media.pk).update(attempts=media.attempts + 1)
    media.attempts += 1
    with media.file.open("rb") as handle:
        content = handle.read()
    uploaded = client.upload_media(
        phone_number_id,
        filename=_upload_name(media),
        content=content,
        mime_type=media.mime_type,
    )
    media.media_id = uploaded.id
    WhatsAppMedia.objects.filter(pk=media.pk).update(media_id=uploaded.id, error="")
    logger.info("outbound media uploaded: media=%s message=%s", media.pk, media.message_id)
    return uploaded.id


def _upload_name(media: WhatsAppMedia) -> str:
    """A neutral multipart file name (`upload.<ext>`): the customer's name stays with us."""
    return f"upload{media.extension}"
