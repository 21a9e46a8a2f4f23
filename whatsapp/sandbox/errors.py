"""Meta's error envelopes with real codes (Meta: error codes).

`MetaError` is raised anywhere in request handling and turned into
`{"error": {"message", "type", "code", "error_subcode"?, "error_data"?, "fbtrace_id"}}` with the
HTTP status Meta uses for that code. Every envelope gets a fresh random `fbtrace_id`.

Meta pages:
- error codes: https://developers.facebook.com/documentation/business-messaging/whatsapp/support/error-codes
- access tokens: https://developers.facebook.com/documentation/business-messaging/whatsapp/access-tokens/
- throughput: https://developers.facebook.com/documentation/business-messaging/whatsapp/throughput
- media: https://developers.facebook.com/documentation/business-messaging/whatsapp/business-phone-numbers/media/
"""

from __future__ import annotations

import secrets
import string
from typing import Any

_TRACE_ALPHABET = string.ascii_letters + string.digits + "_-"

# code -> (HTTP status, message, title). Messages follow Meta's wording "(#code) Title".
KNOWN_CODES: dict[int, tuple[int, str, str]] = {
    1: (500, "An unknown error occurred", "Unknown error"),
    2: (503, "Service temporarily unavailable", "Service temporarily unavailable"),
    4: (400, "(#4) Application request limit reached", "Too many calls"),
    10: (403, "(#10) Application does not have permission for this action", "Permission denied"),
    100: (400, "(#100) Invalid parameter", "Invalid parameter"),
    190: (401, "Error validating access token: Session has expired", "Access token expired"),
    200: (403, "(#200) Permissions error", "Permission denied"),
    368: (400, "(#368) Temporarily blocked for policies violations", "Temporarily blocked"),
    80007: (400, "(#80007) Rate limit issues", "Rate limit issues"),
    130429: (400, "(#130429) Rate limit hit", "Rate limit hit"),
    131000: (500, "(#131000) Something went wrong", "Something went wrong"),
    131008: (400, "(#131008) Required parameter is missing", "Required parameter is missing"),
    131009: (400, "(#131009) Parameter value is not valid", "Parameter value is not valid"),
    131021: (400, "(#131021) Recipient cannot be sender", "Recipient cannot be sender"),
    131026: (400, "(#131026) Message undeliverable", "Message undeliverable"),
    131031: (400, "(#131031) Account has been locked", "Account locked"),
    131047: (
        400,
        "(#131047) Re-engagement message",
        "Re-engagement message",
    ),
    131048: (400, "(#131048) Spam rate limit hit", "Spam rate limit hit"),
    131051: (400, "(#131051) Unsupported message type", "Unsupported message type"),
    131053: (400, "(#131053) Media upload error", "Media upload error"),
    131056: (
        400,
        "(#131056) (Business Account, Consumer Account) pair rate limit hit",
        "Pair rate limit hit",
    ),
    131057: (400, "(#131057) Account in maintenance mode", "Account in maintenance mode"),
    132000: (400, "(#132000) Number of parameters does not match", "Parameter count mismatch"),
    132001: (400, "(#132001) Template name does not exist in the translation", "Template missing"),
    132012: (
        400,
        "(#132012) Parameter format does not match format in the created template",
        "Parameter format mismatch",
    ),
    132015: (400, "(#132015) Template is Paused", "Template paused"),
    132016: (400, "(#132016) Template is Disabled", "Template disabled"),
    133005: (400, "(#133005) Two step verification PIN Mismatch", "PIN mismatch"),
    133006: (400, "(#133006) Phone number re-verification needed", "Re-verification needed"),
    133009: (400, "(#133009) Two step verification PIN Guessed Too Fast", "PIN guessed too fast"),
    133010: (400, "(#133010) Account not registered", "Account not registered"),
    133015: (
        400,
        "(#133015) Please wait a few minutes before attempting to register this phone number",
        "Wait before registering",
    ),
    133016: (
        400,
        "(#133016) Account register deregister rate limit exceeded",
        "Too many register attempts",
    ),
}

DETAILS: dict[int, str] = {
    131047: "Message failed to send because more than 24 hours have passed since the customer "
    "last replied to this number.",
    130429: "Cloud API message throughput has been reached.",
    131056: "Too many messages sent from the sender phone number to the same recipient phone "
    "number in a short period of time.",
    2: "Service temporarily unavailable.",
    1: "An unknown error occurred.",
}


def fbtrace_id() -> str:
    """A random trace id shaped like Meta's (11 url-safe characters)."""
    return "".join(secrets.choice(_TRACE_ALPHABET) for _ in range(11))


class MetaError(Exception):
    """A Graph API error as Meta reports it; `envelope()` is the JSON body."""

    def __init__(
        self,
        code: int,
        message: str | None = None,
        *,
        details: str | None = None,
        subcode: int | None = None,
        http_status: int | None = None,
        error_type: str = "OAuthException",
        with_error_data: bool = True,
    ) -> None:
        known = KNOWN_CODES.get(code)
        self.code = code
        self.message = message or (known[1] if known else f"(#{code}) Error")
        self.details = details if details is not None else DETAILS.get(code, self.message)
        self.subcode = subcode
        self.http_status = http_status or (known[0] if known else 400)
        self.error_type = error_type
        self.with_error_data = with_error_data
        super().__init__(self.message)

    def envelope(self) -> dict[str, Any]:
        """`{"error": {...}}` with a new fbtrace_id."""
        error: dict[str, Any] = {"message": self.message, "type": self.error_type}
        error["code"] = self.code
        if self.subcode is not None:
            error["error_subcode"] = self.subcode
        if self.with_error_data:
            error["error_data"] = {"messaging_product": "whatsapp", "details": self.details}
        error["fbtrace_id"] = fbtrace_id()
        return {"error": error}

    def as_webhook_error(self) -> dict[str, Any]:
        """The same error as it appears in `statuses[].errors[]` (Meta: status webhook
        reference)."""
        known = KNOWN_CODES.get(self.code)
        return {
            "code": self.code,
            "title": known[2] if known else self.message,
            "message": self.message,
            "error_data": {"details": self.details},
            "href": "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/",
        }


def invalid_parameter(details: str, *, code: int = 100, subcode: int | None = None) -> MetaError:
    """Code 100 with `error_data.details` naming the offending field."""
    return MetaError(code, details=details, subcode=subcode)


def token_expired(subcode: int = 463) -> MetaError:
    """190/463: what the platform sees for expired, revoked or fault-expired tokens."""
    message = (
        "Error validating access token: Session has expired on a date in the past. "
        "The current time is later than the expiry time."
    )
    if subcode == 467:
        message = "Error validating access token: The session is invalid."
    return MetaError(190, message, subcode=subcode, http_status=401, with_error_data=False)


def unknown_object(object_id: str) -> MetaError:
    """100/33: Graph's answer for an id that does not exist."""
    return MetaError(
        100,
        f"Unsupported get request. Object with ID '{object_id}' does not exist, cannot be loaded "
        "due to missing permissions, or does not support this operation.",
        subcode=33,
        error_type="GraphMethodException",
        with_error_data=False,
    )


def error_for_code(code: int, *, subcode: int | None = None, http_status: int | None = None):
    """The canonical error for a code (fault injection uses this)."""
    if code == 190:
        return token_expired(subcode or 463)
    return MetaError(code, subcode=subcode, http_status=http_status)
