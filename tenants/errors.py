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


class TeamError(Exception):
    """A team change that is not allowed (message is user-facing): the last admin leaving,
    an invitation that is unknown, used, revoked or expired, a duplicate member."""


class HandoffError(Exception):
    """A sign-in handoff ticket that is unknown, used, expired or for another organization."""


class OffboardingError(Exception):
    """An organization's deletion cannot be requested, cancelled or finished (user-facing)."""


class PlanLimitError(Exception):
    """The organization's plan does not allow this (a limit reached, a payment past due).

    Raised by the billing checks tenants calls through settings (TENANT_PLAN_LIMIT_CHECK); the
    billing app's errors derive from it, so pages of tenants can show them without importing
    billing. The message (str) is user-facing.
    """


class SuspensionError(Exception):
    """An organization cannot be suspended or reactivated as asked (message is user-facing)."""
