"""Facts about Meta's wire format that several layers need, defined once (no Django, no imports
of the rest of the product, so `whatsapp.sandbox` can share them too).

- `MEDIA_TYPES`: the message types that carry a media object (`{id, mime_type, sha256, ...}`),
  https://developers.facebook.com/docs/whatsapp/cloud-api/webhooks/components
- `BSUID_RE`: a business-scoped user id, `<ISO country>.<1-128 alphanumerics>`, a parent id adds
  an `ENT` part, https://developers.facebook.com/documentation/business-messaging/whatsapp/business-scoped-user-ids/
- `timestamp_parse`: Meta's timestamps (a string, sometimes a number, of Unix seconds).
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from typing import Any

MEDIA_TYPES: tuple[str, ...] = ("image", "video", "audio", "document", "sticker")
BSUID_RE = re.compile(r"^[A-Z]{2}\.(?:ENT\.)?[A-Za-z0-9]{1,128}$")


def timestamp_parse(value: Any) -> datetime | None:
    """Unix seconds (`"1750857384"`, `1750857384`, `"1750857384.5"`) as an aware UTC datetime.

    None for anything unusable: missing, 0 or negative ("never"), booleans, NaN/infinity, text,
    and values past what a datetime holds (a 64-bit overflow such as `"99999999999999999999"`).
    """
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, str):
        value = value.strip()
        if not value or len(value) > 32:
            return None
    try:
        seconds = float(value) if not isinstance(value, int) else value
    except (TypeError, ValueError):
        return None
    if isinstance(seconds, float) and not math.isfinite(seconds):
        return None
    try:
        whole = int(seconds)
        if whole <= 0:
            return None
        return datetime.fromtimestamp(whole, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None
