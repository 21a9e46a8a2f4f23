"""Domain errors of the numbers feature (messages are shown to the organization's admins)."""

from __future__ import annotations

from whatsapp.errors import WhatsAppDomainError


class NumberConnectError(WhatsAppDomainError):
    """A number could not be connected; `message` says why in plain words."""

    code = "number_connect_failed"
