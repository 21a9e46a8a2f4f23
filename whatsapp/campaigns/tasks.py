"""Campaign tasks (queue `campaigns`): thin, ids in, one service call, an outcome string out.

`campaign_dispatch_task` is the dispatcher's tick (it enqueues its own next tick while the
campaign runs); `campaigns_watch_task` (beat, public schema) fans out per organization to
`campaigns_watch_tenant_task`, which restarts the tick of a running campaign whose chain was
lost (a worker killed with the task in hand) and starts scheduled campaigns that are due.
"""

from __future__ import annotations

from django.conf import settings
from django_tenants.utils import get_tenant_model, schema_context

from saas_platform.celery import app
from whatsapp.campaigns.services.execution import campaign_dispatch, campaigns_watch


@app.task(acks_late=True, soft_time_limit=60, time_limit=90)
def campaign_dispatch_task(campaign_id: int) -> str:
    return campaign_dispatch(campaign_id=campaign_id)


@app.task(acks_late=True, soft_time_limit=60, time_limit=90)
def campaigns_watch_task() -> str:
    """Dispatcher (public schema): one watch per organization, in its schema."""
    tenants = get_tenant_model().objects.exclude(
        schema_name__in=[settings.PUBLIC_SCHEMA_NAME, settings.TENANT_BASE_SCHEMA]
    )
    count = 0
    for schema in tenants.values_list("schema_name", flat=True):
        with schema_context(schema):
            campaigns_watch_tenant_task.delay()
        count += 1
    return f"dispatched {count} watch(es)"


@app.task(acks_late=True, soft_time_limit=60, time_limit=90)
def campaigns_watch_tenant_task() -> str:
    return f"kicked {campaigns_watch()}"
