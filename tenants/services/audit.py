"""The audit log: one append-only row per administrative action (tenants.AuditEntry)."""

from __future__ import annotations

from typing import Any

from tenants.models import AuditEntry, Organization


def audit_record(
    *,
    actor: Any | None,
    action: str,
    organization: Organization | None = None,
    reason: str = "",
    details: dict[str, Any] | None = None,
) -> AuditEntry:
    """Append an entry. `actor` is a user or None (the system: beat, a script); `action` a
    dotted verb (`organization.deleted`). Returns the saved entry."""
    return AuditEntry.objects.create(
        actor=actor,
        actor_label=(actor.get_username() if actor is not None else "system"),
        action=action,
        org_id=organization.org_id if organization is not None else None,
        org_slug=organization.slug if organization is not None else "",
        reason=reason,
        details=details or {},
    )
