"""Domain errors of the templates feature (mapped to HTTP by whatsapp.api.exceptions)."""

from __future__ import annotations

from whatsapp.errors import WhatsAppDomainError


class TemplateNotFoundError(WhatsAppDomainError):
    """No stored template of that name in that language (sync first, or create it)."""

    code = "template_not_found"
    http_status = 404


class TemplateNotSendableError(WhatsAppDomainError):
    """The template is not APPROVED (PENDING, REJECTED, PAUSED, DISABLED, ...): Meta would
    refuse the send (132001, 132015, 132016)."""

    code = "template_not_approved"
    http_status = 409


class TemplateInvalidError(WhatsAppDomainError):
    """A template definition fails the local review checks: `field` and the message are the
    first problem's, `fields` every problem (`{field: [messages]}`)."""

    code = "template_invalid"

    def __init__(
        self, message: str, *, field: str | None = None, fields: dict[str, list[str]] | None = None
    ) -> None:
        super().__init__(message, field=field)
        self.fields = fields or {}


class TemplateMetaError(WhatsAppDomainError):
    """Meta refused a template call; the message is Meta's (no token in it)."""

    code = "meta_refused"
    http_status = 502


class TemplateRateLimitedError(WhatsAppDomainError):
    """Meta's call budget for the WABA or app is spent (codes 4, 80007): try again later."""

    code = "meta_rate_limited"
    http_status = 429

    def __init__(self, message: str, *, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after
