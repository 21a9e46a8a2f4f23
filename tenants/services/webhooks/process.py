"""Processing one routed change in its tenant: locked, applied and marked in one transaction."""

from __future__ import annotations

from collections.abc import Callable

from django.db import connection, transaction
from django.utils import timezone

from tenants.models import WebhookChange


class WrongTenantError(RuntimeError):
    """A change was about to be applied in a schema other than its organization's."""


def webhook_change_process(*, change_id: int, apply: Callable[[WebhookChange], str]) -> str | None:
    """Apply one change in the current tenant schema; returns the outcome, None if skipped.

    `apply` returns notes (items it had to skip), kept in the processed change's `error`.

    The change row is locked and the tenant's writes commit together with its PROCESSED state,
    so a crash leaves either nothing or everything, and a concurrent duplicate waits and skips.
    """
    with transaction.atomic():
        change = (
            WebhookChange.objects.select_for_update(of=("self",))
            .select_related("organization")
            .filter(pk=change_id)
            .first()
        )
        if change is None:
            return None
        if change.state not in (WebhookChange.State.PENDING, WebhookChange.State.FAILED):
            return None
        organization = change.organization
        if organization is None or organization.schema_name != connection.schema_name:
            raise WrongTenantError(
                f"change {change_id} belongs to "
                f"{organization.schema_name if organization else 'nobody'}, "
                f"not to schema {connection.schema_name}"
            )
        if not organization.is_active:
            change.state = WebhookChange.State.HELD
            change.error = f"organization {organization.slug} is {organization.status}"
            change.save(update_fields=["state", "error"])
            return "held"
        change.attempts += 1
        notes = apply(change)
        change.state = WebhookChange.State.PROCESSED
        change.error = notes[:2000]
        change.processed_at = timezone.now()
        change.save(update_fields=["state", "error", "attempts", "processed_at"])
    return "processed"


def webhook_change_mark_failed(*, change_id: int, error: str) -> int:
    """Record a failed attempt (in its own transaction); returns the attempts made so far."""
    with transaction.atomic():
        change = WebhookChange.objects.select_for_update().filter(pk=change_id).first()
        if change is None or change.state == WebhookChange.State.PROCESSED:
            return 0
        change.attempts += 1
        change.state = WebhookChange.State.FAILED
        change.error = error[:2000]
        change.save(update_fields=["state", "error", "attempts"])
        return change.attempts
