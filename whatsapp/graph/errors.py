"""Typed Graph API errors, chosen by a code registry (Meta: error codes).

Branch on `code` (and `error_data.details`), never on `message` or titles: Meta rewords them.
Families:
- `GraphAuthError`: the token is expired or invalid (190 + subcodes, 102). Refresh once, else
  halt the tenant.
- `GraphRateLimitedError`: a budget or throughput cap; carries `retry_after` (seconds, a floor).
- `GraphTransientError`: Meta or the network hiccuped; retry with backoff. Subclasses
  `GraphConnectionError` (request never sent: always safe to retry) and `GraphTimeoutError`
  (request sent, no answer: `maybe_delivered` says whether a retry may duplicate a message).
- `GraphPermanentError`: the request itself is wrong or not allowed; retrying cannot help.
- the base `GraphError`: an unknown code on a 4xx; callers treat it as permanent.

The same codes arrive asynchronously in `statuses[].errors` and `value.errors` of webhooks:
`error_from_error_object` classifies those with the same registry.

Meta pages:
- error codes: https://developers.facebook.com/documentation/business-messaging/whatsapp/support/error-codes
- access tokens: https://developers.facebook.com/documentation/business-messaging/whatsapp/access-tokens/
- throughput: https://developers.facebook.com/documentation/business-messaging/whatsapp/throughput
- media: https://developers.facebook.com/documentation/business-messaging/whatsapp/business-phone-numbers/media/
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Mapping
from typing import Any

logger = logging.getLogger("whatsapp.graph")

# Query parameters and header values that carry secrets; redacted wherever text is logged/raised.
SENSITIVE_PARAMS = ("access_token", "client_secret", "fb_exchange_token", "input_token", "code")
_SENSITIVE_QUERY_RE = re.compile(
    r"(?P<key>\b(?:" + "|".join(SENSITIVE_PARAMS) + r")=)[^&\s\"']+", re.IGNORECASE
)
_BEARER_RE = re.compile(r"(?P<key>\bBearer\s+)[^\s\"',]+", re.IGNORECASE)
REDACTED = "[redacted]"


def redact(text: str, secrets: Iterable[str | None] = ()) -> str:
    """`text` with known secret values and `access_token=...`-style query values replaced.

    `secrets` are literal values (the bearer token, an app secret) scrubbed wherever they appear,
    including inside Meta's own error messages, which sometimes echo the input.
    """
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, REDACTED)
    text = _SENSITIVE_QUERY_RE.sub(lambda m: m.group("key") + REDACTED, text)
    return _BEARER_RE.sub(lambda m: m.group("key") + REDACTED, text)


class GraphError(Exception):
    """A failed Graph API call. Unknown codes land here; callers treat them as permanent.

    `str()` and `repr()` never contain a token: the client scrubs `message` and `details` before
    raising (see `redact`).
    """

    def __init__(
        self,
        message: str,
        *,
        code: int | None = None,
        subcode: int | None = None,
        type: str | None = None,  # Meta's field name
        fbtrace_id: str | None = None,
        http_status: int | None = None,
        details: str | None = None,
        retry_after: float | None = None,
        user_title: str | None = None,
        user_message: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.subcode = subcode
        self.type = type
        self.fbtrace_id = fbtrace_id
        self.http_status = http_status
        self.details = details
        self.retry_after = retry_after
        self.user_title = user_title
        self.user_message = user_message

    def __str__(self) -> str:
        parts = [f"code={self.code}"]
        if self.subcode is not None:
            parts.append(f"subcode={self.subcode}")
        if self.http_status is not None:
            parts.append(f"http={self.http_status}")
        if self.fbtrace_id:
            parts.append(f"fbtrace_id={self.fbtrace_id}")
        text = f"{self.message} ({', '.join(parts)})"
        if self.details:
            text += f": {self.details}"
        return text

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(code={self.code!r}, subcode={self.subcode!r}, "
            f"http_status={self.http_status!r}, fbtrace_id={self.fbtrace_id!r}, "
            f"message={self.message!r})"
        )


class GraphAuthError(GraphError):
    """The access token is expired, revoked or invalid (190 + subcode, Meta: access tokens)."""

    @property
    def token_expired(self) -> bool:
        return self.subcode == 463


class GraphRateLimitedError(GraphError):
    """A rate or budget limit (Meta: error codes, throughput). `retry_after` is the minimum wait in
    seconds;
    `retry_after_growth` (131056 pair rate: 4) multiplies it per further attempt (1, 4, 16 s)."""

    def __init__(self, message: str, *, retry_after_growth: float | None = None, **kw: Any):
        super().__init__(message, **kw)
        self.retry_after_growth = retry_after_growth


class GraphTransientError(GraphError):
    """Meta is unavailable or the network failed; retry with backoff and jitter."""


class GraphConnectionError(GraphTransientError):
    """The request never reached Meta (DNS, refused, connect timeout, pool timeout): safe to
    retry, even for message sends."""


class GraphTimeoutError(GraphTransientError):
    """The request was sent but no (complete) answer came back.

    `maybe_delivered` is True for non-idempotent POSTs (message sends): Meta may have accepted
    the message, and the API has no idempotency key, so a blind retry can send it twice
    (Meta: error codes, last paragraph). Retry policies do not retry those; the caller decides
    (wait for a status webhook, or mark the message as unknown).
    """

    def __init__(self, message: str, *, maybe_delivered: bool = False, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.maybe_delivered = maybe_delivered

    def __repr__(self) -> str:
        return super().__repr__()[:-1] + f", maybe_delivered={self.maybe_delivered!r})"


class GraphPermanentError(GraphError):
    """The request is invalid or not allowed (bad parameter, recipient, template, permission)."""


class GraphMediaTooLargeError(GraphPermanentError):
    """A media download exceeded the caller's `max_bytes` cap (Meta: media: 100 MB ceiling)."""


# --- The registry (Meta: error codes). Data, not branches: extend it when Meta adds codes. --

ERROR_FAMILIES: dict[int, type[GraphError]] = {
    # Token expired or invalid; 102 = session key invalid (older Graph auth code).
    190: GraphAuthError,
    102: GraphAuthError,
    # Budgets and throughput.
    4: GraphRateLimitedError,
    17: GraphRateLimitedError,
    80007: GraphRateLimitedError,
    130429: GraphRateLimitedError,
    131056: GraphRateLimitedError,
    131057: GraphRateLimitedError,
    132069: GraphRateLimitedError,  # flow throttled: 10 sends per hour
    133016: GraphRateLimitedError,  # too many register/deregister attempts
    # Unknown / service unavailable.
    1: GraphTransientError,
    2: GraphTransientError,
    131000: GraphTransientError,
    131016: GraphTransientError,
    131052: GraphTransientError,  # the user's media could not be downloaded: try later
    # The request is wrong or not allowed.
    0: GraphPermanentError,
    3: GraphPermanentError,
    10: GraphPermanentError,
    100: GraphPermanentError,
    368: GraphPermanentError,
    130472: GraphPermanentError,
    131008: GraphPermanentError,
    131009: GraphPermanentError,
    131021: GraphPermanentError,
    131026: GraphPermanentError,
    131030: GraphPermanentError,
    131031: GraphPermanentError,
    131042: GraphPermanentError,
    131047: GraphPermanentError,
    131048: GraphPermanentError,  # spam rate limit: the number is restricted, alert the tenant
    131049: GraphPermanentError,  # marketing per-user limit: not now (maybe days later)
    131050: GraphPermanentError,
    131051: GraphPermanentError,
    131053: GraphPermanentError,
    # 131064 (portfolio messaging limit, unverified) only clears when the 24 h window rolls:
    # far beyond any task retry, so the caller treats it as a failure.
    131064: GraphPermanentError,
    132068: GraphPermanentError,
    133010: GraphPermanentError,
    135000: GraphPermanentError,
}
ERROR_FAMILY_RANGES: tuple[tuple[range, type[GraphError]], ...] = (
    (range(200, 300), GraphPermanentError),  # permissions
    (range(132000, 132017), GraphPermanentError),  # template errors
)

# Minimum wait (seconds) before retrying a rate-limited call (Meta: error codes, throughput).
RETRY_AFTER_HINTS: dict[int, float] = {
    4: 300.0,  # app budget: "after minutes"
    17: 300.0,  # user budget
    80007: 300.0,  # WABA budget
    130429: 1.0,  # per-number throughput: back under the cap within a second
    131056: 1.0,  # pair rate: 1, 4, 16 s ... (growth below)
    131057: 60.0,  # number in maintenance / throughput upgrade
    132069: 360.0,
    133016: 3600.0,
}
RETRY_AFTER_GROWTH: dict[int, float] = {131056: 4.0}


def error_class_for(code: int | None, http_status: int | None = None) -> type[GraphError]:
    """The family for `code`; unknown codes: 5xx → transient, otherwise the base class."""
    if code is not None:
        if code in ERROR_FAMILIES:
            return ERROR_FAMILIES[code]
        for codes, family in ERROR_FAMILY_RANGES:
            if code in codes:
                return family
    if http_status is not None and http_status >= 500:
        return GraphTransientError
    if http_status == 429:
        return GraphRateLimitedError
    return GraphError


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value) if value is not None and not isinstance(value, bool) else None
    except (TypeError, ValueError):
        return None


def error_from_error_object(
    error: Mapping[str, Any],
    *,
    http_status: int | None = None,
    retry_after: float | None = None,
    secrets: Iterable[str | None] = (),
) -> GraphError:
    """Build the typed exception for one Meta error object (`{"code", "message", ...}`), as found
    in a response envelope or a webhook's `statuses[].errors[]`. Never raises."""
    code = _int_or_none(error.get("code"))
    secrets = tuple(secrets)
    error_data = error.get("error_data")
    details = error_data.get("details") if isinstance(error_data, Mapping) else None
    family = error_class_for(code, http_status)
    if family is GraphError:
        logger.warning("graph: unknown error code=%s http=%s", code, http_status)
    message = str(error.get("message") or error.get("title") or "Graph API error")
    kwargs: dict[str, Any] = {
        "code": code,
        "subcode": _int_or_none(error.get("error_subcode")),
        "type": error.get("type"),
        "fbtrace_id": error.get("fbtrace_id"),
        "http_status": http_status,
        "details": redact(str(details), secrets) if details is not None else None,
        "user_title": error.get("error_user_title"),
        "user_message": error.get("error_user_msg"),
    }
    if issubclass(family, GraphRateLimitedError):
        hint = RETRY_AFTER_HINTS.get(code, 1.0) if code is not None else 1.0
        kwargs["retry_after"] = max(hint, retry_after or 0.0)
        kwargs["retry_after_growth"] = RETRY_AFTER_GROWTH.get(code) if code is not None else None
    elif retry_after is not None:
        kwargs["retry_after"] = retry_after
    return family(redact(message, secrets), **kwargs)


def error_from_response(
    status: int,
    body: bytes | str | Mapping[str, Any] | None,
    *,
    retry_after: float | None = None,
    secrets: Iterable[str | None] = (),
) -> GraphError:
    """The typed exception for a non-2xx Graph response (Meta: error codes envelope).

    `body` may be raw bytes/text or parsed JSON. A body that is not Meta's envelope (an HTML
    502 page from a proxy, an empty 503) is classified by status alone: 5xx transient, 429 rate
    limited, anything else the base `GraphError`. `retry_after` is a `Retry-After` header value.
    """
    parsed: Any = body
    if isinstance(body, bytes | str):
        try:
            parsed = json.loads(body) if body else None
        except ValueError:
            parsed = None
    error = parsed.get("error") if isinstance(parsed, Mapping) else None
    if isinstance(error, Mapping):
        return error_from_error_object(
            error, http_status=status, retry_after=retry_after, secrets=secrets
        )
    family = error_class_for(None, status)
    message = f"HTTP {status} without a Graph error envelope"
    if family is GraphError:
        logger.warning("graph: HTTP %s without an error envelope", status)
    if family is GraphRateLimitedError:
        return GraphRateLimitedError(
            message, http_status=status, retry_after=max(retry_after or 0.0, 1.0)
        )
    return family(message, http_status=status, retry_after=retry_after)
