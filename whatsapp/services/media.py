"""Downloading inbound media from Meta into the platform's storage (Meta: media).

Two Graph calls: look the media id up (a URL that lives ~5 minutes), then GET the URL with the
org's bearer token. The bytes go through Django's default storage (filesystem or S3 via
django-storages) at the model's per-tenant path, never a user-supplied filename, and are checked
against Meta's size and sha256 before the row says `stored`.

Meta pages:
- media: https://developers.facebook.com/documentation/business-messaging/whatsapp/business-phone-numbers/media/
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from saas_platform.logs import bind as log_bind
from tenants.access import current_org_id
from whatsapp.graph.client import GraphClient
from whatsapp.graph.errors import GraphError, GraphMediaTooLargeError, GraphTransientError
from whatsapp.graph.types import MediaInfo
from whatsapp.models import WhatsAppMedia

logger = logging.getLogger(__name__)


class MediaIntegrityError(Exception):
    """The downloaded bytes do not match Meta's size or sha256 (a truncated or wrong file)."""


def _client() -> GraphClient:
    from whatsapp.services.meta_access import graph_client_for_org

    return graph_client_for_org(current_org_id())


def get_media_url_from_whatsapp(
    media_id: str, *, client: GraphClient | None = None, phone_number_id: str | None = None
) -> MediaInfo:
    """Meta's lookup of `media_id` for the current tenant: URL, mime type, sha256, size.

    Raises the Graph client's typed errors (GraphPermanentError for an unknown/expired id).
    """
    return (client or _client()).get_media_url(media_id, phone_number_id=phone_number_id)


def sha256_matches(data_digest: bytes, expected: str) -> bool:
    """Meta's sha256 has been seen as hex and as base64: accept either encoding."""
    expected = expected.strip()
    if not expected:
        return True
    if expected.lower() == data_digest.hex():
        return True
    for decode in (base64.b64decode, base64.urlsafe_b64decode):
        try:
            if decode(expected + "=" * (-len(expected) % 4)) == data_digest:
                return True
        except (binascii.Error, ValueError):
            continue
    return False


def _fetch(
    client: GraphClient, media: WhatsAppMedia, phone_number_id: str
) -> tuple[bytes, MediaInfo]:
    """Look up and download; one fresh lookup when the URL is rejected (it expires in ~5 min)."""
    max_bytes = settings.WHATSAPP_MEDIA_MAX_BYTES
    info = get_media_url_from_whatsapp(
        media.media_id, client=client, phone_number_id=phone_number_id or None
    )
    try:
        return client.download_media(info.url, max_bytes=max_bytes), info
    except (GraphMediaTooLargeError, GraphTransientError):
        raise
    except GraphError as exc:
        logger.info(
            "media URL rejected (expired?), looking it up again: media=%s status=%s",
            media.pk,
            exc.http_status,
        )
    info = get_media_url_from_whatsapp(
        media.media_id, client=client, phone_number_id=phone_number_id or None
    )
    return client.download_media(info.url, max_bytes=max_bytes), info


def download_media(*, media_pk: int, client: GraphClient | None = None) -> WhatsAppMedia:
    """Download one WhatsAppMedia row's file from Meta, verify it and store it.

    Idempotent: a stored row is returned as is; when two workers race, the first to commit
    wins and the loser's file is deleted. Raises MediaIntegrityError on a size/sha256 mismatch
    and the Graph client's errors; the caller (a task) decides about retries.
    """
    media = WhatsAppMedia.objects.select_related("message").get(pk=media_pk)
    if media.state == WhatsAppMedia.State.STORED or not media.media_id:
        return media
    phone_number_id = media.message.phone_number_id if media.message else ""
    if media.message and media.message.wamid:
        log_bind(wamid=media.message.wamid)
    data, info = _fetch(client or _client(), media, phone_number_id)
    digest = hashlib.sha256(data).digest()
    if info.file_size and info.file_size != len(data):
        raise MediaIntegrityError(f"size {len(data)} != Meta's {info.file_size}")
    for expected in (info.sha256, media.sha256):
        if not sha256_matches(digest, expected):
            raise MediaIntegrityError("sha256 does not match Meta's")
    media.mime_type = media.mime_type or info.mime_type
    # upload_to (tenant_media_path) ignores this name: the path is the tenant, a random id and an
    # extension from the MIME type, so user-supplied filenames never reach storage.
    media.file.save("media", ContentFile(data), save=False)
    with transaction.atomic():
        current = WhatsAppMedia.objects.select_for_update().get(pk=media_pk)
        if current.state == WhatsAppMedia.State.STORED:
            media.file.storage.delete(media.file.name)
            return current
        current.file = media.file.name
        current.mime_type = media.mime_type
        current.size = len(data)
        current.sha256 = digest.hex()
        current.state = WhatsAppMedia.State.STORED
        current.error = ""
        current.stored_at = timezone.now()
        current.save()
    logger.info("media stored: media=%s bytes=%d mime=%s", media_pk, len(data), media.mime_type)
    return current


def media_mark_failed(*, media_pk: int, error: str, final: bool) -> int:
    """Count a failed attempt; on the final one mark the row FAILED. Returns attempts so far."""
    with transaction.atomic():
        media = WhatsAppMedia.objects.select_for_update().filter(pk=media_pk).first()
        if media is None or media.state == WhatsAppMedia.State.STORED:
            return 0
        media.attempts += 1
        media.error = error[:2000]
        if final:
            media.state = WhatsAppMedia.State.FAILED
        media.save(update_fields=["attempts", "error", "state"])
        return media.attempts
