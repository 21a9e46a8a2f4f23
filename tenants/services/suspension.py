"""Suspending and reactivating an organization, with a category, a reason and a history.

While suspended, `tenants.access.user_may_access` refuses its members and API keys on its host
(the API answers 401 `access_revoked`), and the webhook gateway holds its changes
(`WebhookChange.State.HELD`). Releasing the held changes on reactivation needs the webhook
gateway, so the console's service does it (whatsapp/console/services.py) around
`organization_reactivate`.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from tenants.errors import SuspensionError
from tenants.models import Organization, OrganizationDeletion, OrganizationSuspension
from tenants.services.audit import audit_record


@transaction.atomic
def organization_suspend(
    *, organization: Organization, actor: Any | None, category: str, reason: str
) -> OrganizationSuspension:
    """Suspend `organization` now and open its suspension record (audited).

    Raises SuspensionError for the platform's own schema, an unknown category, an empty
    reason, or an organization that is already suspended.
    """
    organization = Organization.objects.select_for_update().get(pk=organization.pk)
    if organization.is_public:
        raise SuspensionError("the platform's own schema cannot be suspended")
    if category not in OrganizationSuspension.Category.values:
        raise SuspensionError(f"unknown suspension category '{category}'")
    if not reason.strip():
        raise SuspensionError("a suspension needs a reason")
    if not organization.is_active:
        raise SuspensionError(f"'{organization.slug}' is already suspended")
    suspension = OrganizationSuspension.objects.create(
        organization=organization, category=category, reason=reason.strip(), suspended_by=actor
    )
    organization.status = Organization.Status.SUSPENDED
    organization.save(update_fields=["status"])
    audit_record(
        actor=actor,
        action="organization.suspended",
        organization=organization,
        reason=reason.strip(),
        details={"suspension_id": suspension.pk, "category": category},
    )
    return suspension


@transaction.atomic
def organization_reactivate(
    *, organization: Organization, actor: Any | None, reason: str
) -> OrganizationSuspension | None:
    """Make a suspended `organization` active again and close its open suspension (audited).

    Returns the closed suspension (None when the organization was suspended without one, e.g.
    by hand in the admin). Raises SuspensionError when it is not suspended, when its deletion is
    scheduled (cancel the deletion instead), or without a reason.
    """
    organization = Organization.objects.select_for_update().get(pk=organization.pk)
    if organization.is_active:
        raise SuspensionError(f"'{organization.slug}' is not suspended")
    if not reason.strip():
        raise SuspensionError("a reactivation needs a reason")
    if OrganizationDeletion.objects.filter(
        org_id=organization.org_id, state=OrganizationDeletion.State.SCHEDULED
    ).exists():
        raise SuspensionError(
            f"the deletion of '{organization.slug}' is scheduled: cancel the deletion instead"
        )
    suspension = OrganizationSuspension.objects.filter(
        organization=organization, reactivated_at__isnull=True
    ).first()
    if suspension is not None:
        suspension.reactivated_at = timezone.now()
        suspension.reactivated_by = actor
        suspension.reactivation_reason = reason.strip()
        suspension.save(update_fields=["reactivated_at", "reactivated_by", "reactivation_reason"])
    organization.status = Organization.Status.ACTIVE
    organization.save(update_fields=["status"])
    audit_record(
        actor=actor,
        action="organization.reactivated",
        organization=organization,
        reason=reason.strip(),
        details={"suspension_id": suspension.pk if suspension else None},
    )
    return suspension
