"""Domain errors of the WhatsApp app. Services raise these, never DRF exceptions; the API's
exception handler (whatsapp.api.exceptions) maps each to a status and a machine code."""

from __future__ import annotations


class WhatsAppDomainError(Exception):
    """Base: `code` is the stable machine code integrators see in API errors."""

    code = "whatsapp_error"
    http_status = 400

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class InvalidRecipientError(WhatsAppDomainError):
    code = "invalid_recipient"


class InvalidContentError(WhatsAppDomainError):
    code = "invalid_content"


class OutsideCustomerWindowError(WhatsAppDomainError):
    """Free-form message to a contact who has not written in 24 hours: a template is needed."""

    code = "outside_customer_window"
    http_status = 409


class NoSendingNumberError(WhatsAppDomainError):
    code = "no_sending_number"
    http_status = 409


class SendingHaltedError(WhatsAppDomainError):
    """The organization's access token is invalid: nothing is sent until a new one is stored."""

    code = "sending_halted"
    http_status = 409


class IdempotencyKeyReusedError(WhatsAppDomainError):
    """An Idempotency-Key already used for a different message."""

    code = "idempotency_key_reused"
    http_status = 409


class MediaLinkInvalidError(WhatsAppDomainError):
    """A media download link that was not issued for this organization's media (or was altered)."""

    code = "media_link_invalid"
    http_status = 404


class MediaLinkExpiredError(WhatsAppDomainError):
    """A media download link past its expiry: ask for a new one."""

    code = "media_link_expired"
    http_status = 410
