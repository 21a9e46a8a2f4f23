"""Tenancy work for Celery, in the public schema: thin wrappers over services."""

from __future__ import annotations

from saas_platform.celery import app
from tenants.errors import OffboardingError
from tenants.models import OrganizationDeletion
from tenants.services.offboarding import (
    organization_delete_finish,
    organization_deletions_due,
    organization_export,
)
from tenants.services.schemas import schema_pool_refill

__all__ = [
    "organization_deletion_finish_task",
    "organization_deletions_due_task",
    "organization_export_task",
    "schema_pool_refill_task",
]


@app.task(acks_late=True, soft_time_limit=300, time_limit=360)
def schema_pool_refill_task() -> str:
    """Copy the template into spare schemas up to TENANT_SCHEMA_POOL_SIZE."""
    return f"added {schema_pool_refill()} pooled schema(s)"


@app.task(acks_late=True, soft_time_limit=3600, time_limit=3700)
def organization_export_task(deletion_id: int) -> str:
    try:
        deletion = organization_export(deletion_id=deletion_id)
    except OffboardingError as exc:
        return f"skipped: {exc}"
    return f"exported {deletion.org_slug}"


@app.task(acks_late=True, soft_time_limit=60, time_limit=90)
def organization_deletions_due_task() -> str:
    """Dispatcher: one finishing task per deletion whose grace period is over."""
    due = organization_deletions_due()
    for deletion_id in due:
        organization_deletion_finish_task.delay(deletion_id)
    return f"dispatched {len(due)} deletion(s)"


@app.task(acks_late=True, soft_time_limit=3600, time_limit=3700)
def organization_deletion_finish_task(deletion_id: int) -> str:
    deletion = OrganizationDeletion.objects.get(pk=deletion_id)
    try:
        organization_delete_finish(deletion=deletion)
    except OffboardingError as exc:
        return f"skipped: {exc}"
    return f"deleted {deletion.org_slug}"
