"""What staff do in the console. Every action is recorded in the audit log (tenants.AuditEntry,
through tenants.services.audit.audit_record) with who, which organization, why and the outcome;
none of them reads out or changes an organization's token, only its state."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django_tenants.utils import schema_context

from tenants.errors import CredentialInvalidError, CredentialMissingError
from tenants.models import Organization, OrganizationSuspension, RawWebhookEvent, WebhookChange
from tenants.services.audit import audit_record
from tenants.services.onboarding import organization_create
from tenants.services.suspension import organization_reactivate, organization_suspend
from whatsapp.numbers.models import NumberCheckup
from whatsapp.numbers.services.doctor import number_checkup
from whatsapp.services.meta_access import access_token_refresh
from whatsapp.webhooks.replay import REPLAYABLE_STATES, ReplayResult, webhook_replay


def tenant_create(*, actor: Any, name: str, slug: str, admin_email: str) -> Organization:
    """Create an organization through the onboarding service (schema, host, first admin) and
    audit it. A new admin gets a random password nobody sees: they choose theirs through the
    public host's password reset. Raises OnboardingError."""
    organization = organization_create(
        slug=slug.strip().lower(),
        name=name,
        admin_email=admin_email,
        admin_password=secrets.token_urlsafe(32),
    )
    audit_record(
        actor=actor,
        action="organization.created",
        organization=organization,
        details={"admin_email": admin_email.strip().lower()},
    )
    return organization


def tenant_suspend(
    *, organization: Organization, actor: Any, category: str, reason: str
) -> OrganizationSuspension:
    """Suspend the organization (tenants.services.suspension.organization_suspend, audited).
    Raises SuspensionError."""
    return organization_suspend(
        organization=organization, actor=actor, category=category, reason=reason
    )


@dataclass(frozen=True)
class Reactivation:
    suspension: OrganizationSuspension | None
    released: ReplayResult


@transaction.atomic
def tenant_reactivate(*, organization: Organization, actor: Any, reason: str) -> Reactivation:
    """Reactivate the organization and release its held webhook changes, in the order Meta
    sent them (the worker applies pending changes by id), in one transaction: either both
    happen or neither. Audited twice (the reactivation, then the release with its counts).
    Raises SuspensionError."""
    suspension = organization_reactivate(organization=organization, actor=actor, reason=reason)
    released = webhook_replay(states=[WebhookChange.State.HELD], organization_id=organization.pk)
    audit_record(
        actor=actor,
        action="webhook.held_released",
        organization=organization,
        reason=reason,
        details={"requeued": released.requeued, "still_held": released.still_held},
    )
    return Reactivation(suspension=suspension, released=released)


def tenant_token_refresh(*, organization: Organization, actor: Any) -> str:
    """Exchange the organization's Meta token for a new one now
    (whatsapp.services.meta_access.access_token_refresh). Returns "refreshed" or the reason it
    failed (Meta's, never the token); a failed refresh halts sending, as beat's would. Audited."""
    try:
        access_token_refresh(org_id=str(organization.org_id))
        outcome = "refreshed"
    except (CredentialMissingError, CredentialInvalidError) as exc:
        outcome = str(exc) or exc.__class__.__name__
    audit_record(
        actor=actor,
        action="token.refresh_requested",
        organization=organization,
        details={"outcome": outcome},
    )
    return outcome


def tenant_number_check(
    *, organization: Organization, actor: Any, phone_number_id: str
) -> NumberCheckup:
    """Run the number doctor on one of the organization's numbers now (audited). Raises
    PhoneNumber.DoesNotExist for a number it does not have."""
    with schema_context(organization.schema_name):
        checkup = number_checkup(organization=organization, phone_number_id=phone_number_id)
    audit_record(
        actor=actor,
        action="number.checked",
        organization=organization,
        details={"phone_number_id": phone_number_id, "problems": checkup.problems},
    )
    return checkup


def _event_organizations(event: RawWebhookEvent) -> list[Organization]:
    ids = WebhookChange.objects.filter(event=event, organization__isnull=False).values(
        "organization_id"
    )
    return list(Organization.objects.filter(pk__in=ids))


def event_body_reveal(*, event: RawWebhookEvent, actor: Any, reason: str) -> str:
    """The event's body as Meta sent it (pretty-printed JSON when it parses), for one page
    view: nothing is stored. Audited once per organization the event is about (or once
    without one), with the stated reason. Raises ValueError without a reason."""
    if not reason.strip():
        raise ValueError("revealing a body needs a reason")
    organizations = _event_organizations(event) or [None]
    for organization in organizations:
        audit_record(
            actor=actor,
            action="webhook.body_revealed",
            organization=organization,
            reason=reason.strip(),
            details={"event_id": event.pk},
        )
    raw = bytes(event.body)
    try:
        return json.dumps(json.loads(raw), indent=2, ensure_ascii=False)
    except ValueError:
        return raw.decode("utf-8", errors="replace")


def events_replay(
    *,
    actor: Any,
    reason: str,
    change_ids: list[int] | None = None,
    event_id: int | None = None,
    organization: Organization | None = None,
) -> ReplayResult:
    """Replay the replayable changes among `change_ids` (a filtered set of the event log) or
    of one event (whatsapp.webhooks.replay.webhook_replay). Audited with the counts."""
    result = webhook_replay(
        states=REPLAYABLE_STATES,
        event_id=event_id,
        change_ids=change_ids,
        organization_id=organization.pk if organization else None,
    )
    audit_record(
        actor=actor,
        action="webhook.replayed",
        organization=organization,
        reason=reason,
        details={
            "event_id": event_id,
            "changes": len(change_ids) if change_ids is not None else None,
            "requeued": result.requeued,
            "events_requeued": result.events_requeued,
            "still_unroutable": result.still_unroutable,
            "still_held": result.still_held,
        },
    )
    return result
