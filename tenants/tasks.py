"""Periodic tenancy work (Celery beat), in the public schema: thin wrappers over services."""

from __future__ import annotations

from saas_platform.celery import app
from tenants.services.schemas import schema_pool_refill

__all__ = ["schema_pool_refill_task"]


@app.task(acks_late=True, soft_time_limit=300, time_limit=360)
def schema_pool_refill_task() -> str:
    """Clone the template into spare schemas up to TENANT_SCHEMA_POOL_SIZE."""
    return f"added {schema_pool_refill()} pooled schema(s)"
