"""Media endpoints: multipart upload with Meta's size limits (Meta: media), lookup with a
signed expiring download URL on the sandbox itself, the download, and delete.

Multipart bodies are parsed with the stdlib `email` parser (`cgi` is deprecated).

Meta pages:
- media: https://developers.facebook.com/documentation/business-messaging/whatsapp/business-phone-numbers/media/
"""

from __future__ import annotations

import hashlib
import hmac
import time
from email import policy
from email.parser import BytesParser
from typing import Any

from whatsapp.sandbox.errors import MetaError, invalid_parameter, token_expired, unknown_object
from whatsapp.sandbox.protocol import Request, Response, ok
from whatsapp.sandbox.state import SandboxState

MB = 1024 * 1024
ALLOWED_MIME = {
    "image/jpeg": 5 * MB,
    "image/png": 5 * MB,
    "image/webp": 500 * 1024,  # stickers: 100 KB static / 500 KB animated
    "video/mp4": 16 * MB,
    "video/3gpp": 16 * MB,
    "audio/aac": 16 * MB,
    "audio/amr": 16 * MB,
    "audio/mpeg": 16 * MB,
    "audio/mp4": 16 * MB,
    "audio/ogg": 16 * MB,
    "text/plain": 100 * MB,
    "application/pdf": 100 * MB,
    "application/msword": 100 * MB,
    "application/vnd.ms-excel": 100 * MB,
    "application/vnd.ms-powerpoint": 100 * MB,
}
_OFFICE_PREFIX = "application/vnd.openxmlformats-officedocument."


def size_limit(mime_type: str) -> int | None:
    """Max bytes for a MIME type (parameters ignored), None if the type is not supported."""
    base = mime_type.split(";")[0].strip().lower()
    if base.startswith(_OFFICE_PREFIX):
        return 100 * MB
    return ALLOWED_MIME.get(base)


def parse_multipart(content_type: str, body: bytes) -> dict[str, dict[str, Any]]:
    """{field name: {"value": bytes, "filename", "content_type"}} of a multipart/form-data body."""
    if not content_type.lower().startswith("multipart/form-data"):
        raise invalid_parameter("Request must be multipart/form-data")
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    message = BytesParser(policy=policy.HTTP).parsebytes(head + body)
    fields: dict[str, dict[str, Any]] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not name:
            continue
        fields[str(name)] = {
            "value": part.get_payload(decode=True) or b"",
            "filename": part.get_filename(),
            "content_type": part.get_content_type(),
        }
    return fields


def upload(state: SandboxState, phone_number_id: str, request: Request) -> Response:
    """`POST /{version}/{phone_number_id}/media` -> `{"id": ...}`."""
    fields = parse_multipart(request.headers.get("content-type", ""), request.body)
    product = fields.get("messaging_product", {}).get("value", b"").decode(errors="replace")
    if product != "whatsapp":
        raise invalid_parameter("Param messaging_product must be whatsapp")
    file = fields.get("file")
    if file is None or not file["value"]:
        raise invalid_parameter("Param file is required")
    declared = fields.get("type", {}).get("value", b"").decode(errors="replace").strip()
    mime_type = declared or file["content_type"] or ""
    limit = size_limit(mime_type)
    if limit is None:
        raise MetaError(
            131053,
            details=f"Param file must be a file with one of the supported types: {mime_type}",
        )
    if len(file["value"]) > limit:
        raise MetaError(
            131053,
            details=f"Media file size too big. Max file size we currently support: {limit} bytes. "
            f"Please choose a smaller file.",
        )
    item = state.add_media(
        file["value"], mime_type, filename=file["filename"], phone_number_id=phone_number_id
    )
    return ok({"id": item.id})


def _signature(state: SandboxState, media_id: str, expires: str) -> str:
    return hmac.new(state.url_key, f"{media_id}:{expires}".encode(), hashlib.sha256).hexdigest()


def lookup(state: SandboxState, media_id: str, request: Request) -> Response:
    """`GET /{version}/{media_id}` -> url (signed, expiring), mime_type, sha256, file_size, id."""
    with state.lock:
        item = state.media.get(media_id)
    if item is None:
        raise unknown_object(media_id)
    expires = f"{time.time() + state.config.media_url_ttl:.3f}"
    url = (
        f"http://{request.host}/_sandbox/media/{media_id}"
        f"?expires={expires}&sig={_signature(state, media_id, expires)}"
    )
    return ok(
        {
            "messaging_product": "whatsapp",
            "url": url,
            "mime_type": item.mime_type,
            "sha256": item.sha256,
            "file_size": len(item.data),
            "id": item.id,
        }
    )


def delete(state: SandboxState, media_id: str) -> Response:
    """`DELETE /{version}/{media_id}` -> `{"success": true}`."""
    with state.lock:
        item = state.media.pop(media_id, None)
    if item is None:
        raise unknown_object(media_id)
    return ok({"success": True})


def download(state: SandboxState, media_id: str, request: Request) -> Response:
    """`GET /_sandbox/media/<id>?expires&sig`: the bytes, with a valid bearer, before expiry."""
    token = request.bearer
    valid, subcode = state.token_is_valid(token or "")
    if not valid:
        raise token_expired(subcode)
    expires = request.query.get("expires", "")
    expected = _signature(state, media_id, expires)
    with state.lock:
        item = state.media.get(media_id)
    try:
        fresh = float(expires) > time.time()
    except ValueError:
        fresh = False
    if item is None or not fresh or not hmac.compare_digest(expected, request.query.get("sig", "")):
        return Response(status=404, body={"error": "URL expired or not found"})
    return Response(
        status=200,
        body=item.data,
        content_type=item.mime_type,
        headers={"Content-Disposition": "attachment"},
    )
