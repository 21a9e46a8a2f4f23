"""Domain errors of the tenants app; the API's exception handler maps them to responses."""

from __future__ import annotations


class OnboardingError(Exception):
    """An organization could not be created with the given input (message is user-facing)."""


class UnknownOrganizationError(Exception):
    """No organization with the given org_id / slug."""


class CredentialMissingError(Exception):
    """The organization has no WhatsApp access token stored."""


class CredentialInvalidError(Exception):
    """The organization's token is marked invalid (refresh failed): sending is halted."""


class OffboardingError(Exception):
    """An organization's deletion cannot be requested, cancelled or finished (user-facing)."""
