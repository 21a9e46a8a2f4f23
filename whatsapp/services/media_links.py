"""Short-lived download links for stored media, bound to the organization that issued them.

A link is `/api/v1/media/link/<token>/` on the organization's host; the token is signed with the
platform's SECRET_KEY (`django.core.signing`, its own salt) over {org id, media id, expiry}, so
it cannot be forged, extended or pointed at another file, and it only resolves in the schema of
the organization it names: the same token on another organization's host is refused even if
that organization has a media row with the same id. Whoever holds a link may download until it
expires (it is a bearer link, meant for a browser or a CRM that cannot send our API headers).

Where the file lives decides how it is served (`media_link_redirect_url`): on S3-compatible
storage the link answers with a redirect to a pre-signed URL of the object that expires with the
link (at most `MEDIA_LINK_TTL_SECONDS`), so the bytes never pass through the web tier; on the
local filesystem the web tier streams the file.
https://docs.aws.amazon.com/AmazonS3/latest/userguide/ShareObjectPreSignedURL.html
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings
from django.core import signing

from tenants.access import current_org_id
from whatsapp.errors import MediaLinkExpiredError, MediaLinkInvalidError
from whatsapp.models import WhatsAppMedia

_SALT = "whatsapp.media.link.v1"


@dataclass(frozen=True)
class MediaLink:
    token: str
    expires_at: datetime


def media_link_create(*, media: WhatsAppMedia, ttl_seconds: int | None = None) -> MediaLink:
    """A link to `media` (a row of the current organization) valid for `ttl_seconds`
    (default and ceiling: settings MEDIA_LINK_TTL_SECONDS)."""
    ceiling = int(settings.MEDIA_LINK_TTL_SECONDS)
    ttl = ceiling if ttl_seconds is None else max(1, min(int(ttl_seconds), ceiling))
    expires = int(time.time()) + ttl
    token = signing.dumps({"o": current_org_id(), "m": media.pk, "e": expires}, salt=_SALT)
    return MediaLink(token=token, expires_at=datetime.fromtimestamp(expires, tz=UTC))


def media_link_resolve(*, token: str) -> tuple[WhatsAppMedia, int]:
    """The stored media a link names, in the current organization, and its expiry (Unix time).

    Raises MediaLinkInvalidError (altered, another organization's, or no such stored file) and
    MediaLinkExpiredError.
    """
    try:
        claims = signing.loads(token, salt=_SALT)
        org_id, media_id, expires = str(claims["o"]), int(claims["m"]), int(claims["e"])
    except (signing.BadSignature, KeyError, TypeError, ValueError) as exc:
        raise MediaLinkInvalidError("This download link is not valid.") from exc
    if org_id != current_org_id():
        raise MediaLinkInvalidError("This download link is not valid.")
    if expires <= time.time():
        raise MediaLinkExpiredError("This download link has expired.")
    media = WhatsAppMedia.objects.filter(pk=media_id, state=WhatsAppMedia.State.STORED).first()
    if media is None or not media.file:
        raise MediaLinkInvalidError("This download link is not valid.")
    return media, expires


def media_link_redirect_url(
    *, media: WhatsAppMedia, expires: int, filename: str, content_type: str
) -> str | None:
    """A pre-signed storage URL of the file that expires no later than the link (`expires`,
    Unix time) and makes the store answer as an attachment; None when the storage cannot sign
    URLs (the file is then served by the caller). Raises MediaLinkExpiredError when less than a
    second is left."""
    storage = media.file.storage
    if not getattr(storage, "querystring_auth", False):
        return None
    storage.connection  # noqa: B018 - the S3 client is built first: signing must follow the clock
    seconds = math.floor(expires - time.time())
    if seconds < 1:
        raise MediaLinkExpiredError("This download link has expired.")
    return storage.url(
        media.file.name,
        expire=seconds,
        parameters={
            "ResponseContentDisposition": f'attachment; filename="{filename}"',
            "ResponseContentType": content_type,
        },
    )
