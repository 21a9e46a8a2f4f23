"""The number doctor's periodic check-up (Celery beat `whatsapp-number-checkups`).

The dispatcher runs in the public schema and fans out one task per active organization that
has numbers, in its schema (tenant-schemas-celery's `_schema_name` header).
"""

from __future__ import annotations

from django.db import connection
from django_tenants.utils import schema_context

from saas_platform.celery import app
from tenants.models import Organization, PhoneNumber
from whatsapp.numbers.services.doctor import number_checkups_run

__all__ = ["number_checkups_task", "number_checkups_tenant_task"]


@app.task(acks_late=True, soft_time_limit=60, time_limit=90)
def number_checkups_task() -> str:
    """Dispatcher (public schema): one check-up task per organization with numbers."""
    schemas = list(
        Organization.objects.filter(
            status=Organization.Status.ACTIVE,
            pk__in=PhoneNumber.objects.values("organization_id"),
        ).values_list("schema_name", flat=True)
    )
    for schema in schemas:
        with schema_context(schema):
            number_checkups_tenant_task.delay()
    return f"dispatched {len(schemas)} organization(s)"


@app.task(acks_late=True, soft_time_limit=300, time_limit=360)
def number_checkups_tenant_task() -> str:
    organization = Organization.objects.get(schema_name=connection.schema_name)
    return f"checked {number_checkups_run(organization=organization)} number(s)"
