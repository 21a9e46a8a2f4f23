"""Short-lived signed links to a message's stored media, bound to the organization.

A link is `/inbox/media/<token>/` on the organization's host; the token is signed with the
project's secret and a salt naming the organization, and expires after MEDIA_LINK_SECONDS.
A token made for org A does not verify on org B's host (another salt), a forged or expired
one does not verify at all, and the view also wants a signed-in member of the host's org.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core import signing

from tenants.access import current_org_id
from whatsapp.errors import WhatsAppDomainError
from whatsapp.models import WhatsAppMedia

MEDIA_LINK_SECONDS = 10 * 60
# Served inline (the browser shows or plays them); anything else is a download, so a document
# can never run as a page of ours.
INLINE_TYPES = frozenset(
    {
        "image/jpeg",
        "image/png",
        "image/webp",
        "image/gif",
        "audio/ogg",
        "audio/mpeg",
        "audio/mp4",
        "audio/aac",
        "audio/amr",
        "video/mp4",
        "video/3gpp",
        "application/pdf",
    }
)


class MediaLinkInvalidError(WhatsAppDomainError):
    code = "media_link_invalid"
    http_status = 404


def _salt() -> str:
    return f"inbox-media:{current_org_id()}"


def media_link_token(*, media_id: int) -> str:
    """A token for media row `media_id` of the current organization."""
    return signing.dumps(media_id, salt=_salt(), compress=False)


@dataclass(frozen=True)
class MediaFile:
    media: WhatsAppMedia
    content_type: str
    inline: bool


def media_link_open(*, token: str) -> MediaFile:
    """The stored media a token names, in the current organization. Raises
    MediaLinkInvalidError for a token of another organization, expired, forged, or whose
    media is not stored (yet)."""
    try:
        media_id = signing.loads(token, salt=_salt(), max_age=MEDIA_LINK_SECONDS)
    except signing.BadSignature as exc:  # SignatureExpired is one
        raise MediaLinkInvalidError("This media link is invalid or has expired.") from exc
    media = WhatsAppMedia.objects.filter(pk=media_id, state=WhatsAppMedia.State.STORED).first()
    if media is None or not media.file:
        raise MediaLinkInvalidError("This media is not available.")
    base = media.mime_type.split(";", 1)[0].strip().lower()
    # OGG/Opus voice notes: say the codec, so browsers pick a decoder without sniffing.
    content_type = "audio/ogg; codecs=opus" if base == "audio/ogg" else base
    return MediaFile(
        media=media,
        content_type=content_type or "application/octet-stream",
        inline=base in INLINE_TYPES,
    )
