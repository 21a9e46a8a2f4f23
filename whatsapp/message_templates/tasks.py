"""Daily template sync (Celery beat entry `whatsapp-templates-sync`).

The dispatcher runs in the public schema and publishes one sync per organization that has a
connected number, in that organization's schema. A sync that meets Meta's call budget (codes 4,
80007) is retried after the wait Meta asks for (at least a minute), a few times, then left for
the next day; other Meta errors are logged and not retried.
"""

from __future__ import annotations

import logging

from django_tenants.utils import schema_context

from saas_platform.celery import app
from tenants.models import PhoneNumber
from whatsapp.message_templates.errors import TemplateMetaError, TemplateRateLimitedError
from whatsapp.message_templates.services.sync import templates_sync

logger = logging.getLogger(__name__)

SYNC_MAX_RETRIES = 5

__all__ = ["templates_sync_all_task", "templates_sync_task"]


@app.task(acks_late=True, soft_time_limit=120, time_limit=180)
def templates_sync_all_task() -> str:
    """Dispatcher (public schema): one `templates_sync_task` per organization with a number."""
    schemas = sorted(set(PhoneNumber.objects.values_list("organization__schema_name", flat=True)))
    for schema in schemas:
        with schema_context(schema):
            templates_sync_task.delay()
    return f"dispatched {len(schemas)} template sync(s)"


@app.task(
    bind=True, acks_late=True, soft_time_limit=300, time_limit=360, max_retries=SYNC_MAX_RETRIES
)
def templates_sync_task(self) -> str:
    try:
        result = templates_sync()
    except TemplateRateLimitedError as exc:
        logger.warning("template sync rate limited; retrying in %.0f s", exc.retry_after)
        raise self.retry(countdown=exc.retry_after) from exc
    except TemplateMetaError as exc:
        logger.warning("template sync failed: %s", exc.message)
        return "failed"
    return (
        f"created {result.created}, updated {result.updated}, "
        f"deleted at Meta {result.deleted_at_meta}"
    )
