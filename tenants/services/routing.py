"""The phone-number routing table: which organization owns a Meta `phone_number_id`."""

from __future__ import annotations

import logging

from django.db import transaction

from tenants.errors import OnboardingError
from tenants.models import Organization, PhoneNumber
from tenants.services.credentials import credential_store
from tenants.services.limits import plan_limit_check

logger = logging.getLogger(__name__)


@transaction.atomic
def phone_number_connect(
    *,
    organization: Organization,
    phone_number_id: str,
    waba_id: str,
    display_number: str,
    access_token: str | None = None,
    messages_per_second: int | None = None,
) -> PhoneNumber:
    """Connect a WhatsApp number to `organization` (and store its token if one is given).

    Reconnecting a number the organization already has updates it; a number owned by another
    organization is refused (OnboardingError), a new number past the plan's
    `connected_numbers` too (the plan's PlanLimitError).
    """
    if organization.is_public:
        raise OnboardingError("numbers belong to organizations, not to the public schema")
    phone_number_id = phone_number_id.strip()
    if not phone_number_id.isdigit():
        raise OnboardingError("phone_number_id must be Meta's numeric id")
    existing = (
        PhoneNumber.objects.select_for_update().filter(phone_number_id=phone_number_id).first()
    )
    if existing and existing.organization_id != organization.pk:
        raise OnboardingError("this phone_number_id is already connected to another organization")
    if existing is None:
        plan_limit_check(organization=organization, limit="connected_numbers")
    defaults = {"organization": organization, "waba_id": waba_id, "display_number": display_number}
    if messages_per_second:
        defaults["messages_per_second"] = messages_per_second
    number, _ = PhoneNumber.objects.update_or_create(
        phone_number_id=phone_number_id, defaults=defaults
    )
    if access_token:
        credential_store(organization=organization, access_token=access_token)
    logger.info(
        "phone number connected: org_id=%s phone_number_id=%s", organization.org_id, phone_number_id
    )
    return number


def organization_for_phone_number(phone_number_id: str) -> Organization | None:
    """The owner of `phone_number_id` (one indexed lookup), or None when nobody owns it."""
    number = (
        PhoneNumber.objects.select_related("organization")
        .filter(phone_number_id=phone_number_id)
        .first()
    )
    return number.organization if number else None
