"""Wire helpers of `GraphClient`: path segments, loggable URLs, capped body reads, paging cursors
and the log filter that keeps secrets out of httpx's own request logs. No HTTP calls here.

Meta pages:
- access tokens: https://developers.facebook.com/documentation/business-messaging/whatsapp/access-tokens/
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

import httpx

from whatsapp.graph.errors import SENSITIVE_PARAMS, GraphMediaTooLargeError, redact

ERROR_BODY_LIMIT = 64 * 1024


class _RedactingFilter(logging.Filter):
    """httpx logs every request URL at INFO ("HTTP Request: GET ...?client_secret=..."): token
    endpoints carry secrets in the query (Meta: access tokens), so scrub them before any handler."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, ()
        return True


def install_log_redaction() -> None:
    """Add the redacting filter to httpx/httpcore loggers once (idempotent)."""
    for name in ("httpx", "httpcore"):
        third_party = logging.getLogger(name)
        if not any(isinstance(f, _RedactingFilter) for f in third_party.filters):
            third_party.addFilter(_RedactingFilter())


def path_segment(value: str) -> str:
    """A caller-supplied id as one path segment: ids never contain '/', '?' or '..'."""
    value = str(value).strip()
    if not value or value in {".", ".."}:
        raise ValueError("Graph id must not be empty")
    return quote(value, safe="")


def loggable_url(url: str, params: Mapping[str, Any] | None, *, absolute: bool) -> str:
    """The URL path plus a redacted query. Graph calls keep their query with secret values
    replaced; foreign absolute URLs (media download) lose it entirely (signed CDN parameters)."""
    parts = urlsplit(url)
    if absolute:
        return f"{parts.netloc}{parts.path}"
    query = [*parse_qsl(parts.query), *((k, str(v)) for k, v in (params or {}).items())]
    if not query:
        return parts.path
    safe = [(k, "[redacted]" if k in SENSITIVE_PARAMS else v) for k, v in query]
    return redact(f"{parts.path}?{urlencode(safe)}")


def read_body(response: httpx.Response, max_bytes: int | None) -> bytes:
    """Stream the body; a successful download over `max_bytes` raises, and error bodies are cut
    at 64 KiB (they are only parsed for Meta's envelope)."""
    limit = max_bytes if response.is_success else ERROR_BODY_LIMIT
    length = response.headers.get("content-length", "")
    if response.is_success and limit is not None and length.isdigit() and int(length) > limit:
        raise GraphMediaTooLargeError(
            f"response of {length} bytes exceeds the {limit} byte limit",
            http_status=response.status_code,
        )
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if limit is not None and size > limit:
            if not response.is_success:
                break
            raise GraphMediaTooLargeError(
                f"response exceeds the {limit} byte limit", http_status=response.status_code
            )
        chunks.append(chunk)
    return b"".join(chunks)


def parse_json(body: bytes) -> Any:
    try:
        return json.loads(body) if body else None
    except ValueError:
        return None


def parse_retry_after(value: str | None) -> float | None:
    try:
        return max(float(value), 0.0) if value else None
    except ValueError:
        return None  # HTTP-date form: ignore, the code's hint applies


def next_cursor(data: Mapping[str, Any]) -> str | None:
    """The `after` cursor of the next page, or None when `paging.next` is absent.

    Meta's `next` URL embeds `access_token=`: never follow it as is. Take its `after` (or
    `cursors.after`) and re-issue the request on our base URL with the bearer header.
    """
    paging = data.get("paging")
    if not isinstance(paging, Mapping) or not paging.get("next"):
        return None
    after = dict(parse_qsl(urlsplit(str(paging["next"])).query)).get("after")
    cursors = paging.get("cursors")
    if not after and isinstance(cursors, Mapping):
        after = cursors.get("after")
    return str(after) if after else None
