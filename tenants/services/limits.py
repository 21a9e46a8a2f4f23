"""Extension points billing plugs into, as dotted paths in settings (tenants never imports
billing_stub: import-linter contract in pyproject.toml)."""

from __future__ import annotations

from django.conf import settings
from django.utils.module_loading import import_string

from tenants.models import Organization


def plan_limit_check(*, organization: Organization, limit: str, amount: int = 1) -> None:
    """Ask the plan whether `organization` may use `amount` more of `limit` (e.g.
    `connected_numbers`, `members`). Raises a tenants.errors.PlanLimitError subclass when not.
    Settings TENANT_PLAN_LIMIT_CHECK names the check; empty means no plans."""
    path = getattr(settings, "TENANT_PLAN_LIMIT_CHECK", "")
    if path:
        import_string(path)(organization_id=organization.pk, limit=limit, amount=amount)


def organization_created_hooks_run(*, organization: Organization) -> None:
    """Call each of settings TENANT_ORGANIZATION_CREATED_HOOKS with `organization=`, inside
    the onboarding transaction (billing starts the trial subscription there)."""
    for path in getattr(settings, "TENANT_ORGANIZATION_CREATED_HOOKS", ()):
        import_string(path)(organization=organization)
