"""The tenant-aware Celery app: `celery -A saas_platform.celery worker`.

tenant-schemas-celery records the current schema when a task is sent and switches the worker's
connection to it before the task runs, so a task enqueued inside a tenant runs inside it.
"""

from __future__ import annotations

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saas_platform.settings")

from tenant_schemas_celery.app import CeleryApp


class TenantAwareCeleryApp(CeleryApp):
    pass


app = TenantAwareCeleryApp("saas_platform")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
