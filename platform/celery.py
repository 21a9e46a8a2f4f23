"""The tenant-aware Celery app: `celery -A saas_platform.celery worker`.

tenant-schemas-celery records the current schema when a task is sent and switches the worker's
connection to it before the task runs, so a task enqueued inside a tenant runs inside it.

Database connections outlive tasks. Celery's Django fix-up (celery/fixups/django.py) closes every
database connection before and after each task; since Celery 5.5 it calls `conn.close()` outright
(5.4 and earlier called `close_if_unusable_or_obsolete()`), so each task opened a new PostgreSQL
session: 20,000 tasks, 20,025 sessions, and the worker spent more time connecting than working.
We take the fix-up's two per-task handlers off and handle connections the way Django handles them
around a request (`django.db.close_old_connections`): a connection is kept while it is usable and
younger than `CONN_MAX_AGE`, and dropped when a query on it failed and it no longer answers, or
when its transaction state is unclean; with `CONN_HEALTH_CHECKS` the first query of the next
task checks it first. The fix-up's other duties (django.setup(), closing the connections a
prefork child inherits from its parent) are untouched. tests/tenants/test_celery_connections.py
counts the sessions N tasks open, and shows that a killed session is replaced.
"""

from __future__ import annotations

import logging
import os
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saas_platform.settings")

from celery import signals
from tenant_schemas_celery.app import CeleryApp

from saas_platform.logs import task_context_connect

logger = logging.getLogger(__name__)


class TenantAwareCeleryApp(CeleryApp):
    pass


app = TenantAwareCeleryApp("saas_platform")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def _close_unusable_connections(**_: Any) -> None:
    """Close this thread's connections that failed, expired, or were left mid-transaction."""
    from django.db import close_old_connections

    close_old_connections()


def _keep_connections_across_tasks(**_: Any) -> None:
    """Replace the Django fix-up's close-everything per-task handlers by Django's own rule.

    Runs on `worker_init`, after the fix-up's own `worker_init` handler installed them (it is
    connected when the app is created, before this module connects ours). Idempotent.
    """
    disconnected = 0
    for fixup in getattr(app, "_fixups", None) or []:
        worker_fixup = getattr(fixup, "worker_fixup", None)
        if worker_fixup is None:
            continue
        for signal, handler_name in (
            (signals.task_prerun, "on_task_prerun"),
            (signals.task_postrun, "on_task_postrun"),
        ):
            handler = getattr(worker_fixup, handler_name, None)
            if handler is not None and signal.disconnect(handler):
                disconnected += 1
    if not disconnected:
        logger.warning(
            "Celery's Django fix-up handlers were not found: tasks may close database "
            "connections after every task (see saas_platform.celery)."
        )
    signals.task_prerun.connect(_close_unusable_connections, dispatch_uid="saas_db_prerun")
    signals.task_postrun.connect(_close_unusable_connections, dispatch_uid="saas_db_postrun")


signals.worker_init.connect(_keep_connections_across_tasks, dispatch_uid="saas_db_keep")

# Every log line of a task carries its task_id and task_name (saas_platform.logs).
task_context_connect()


def _serve_worker_metrics(**_: Any) -> None:
    from saas_platform.metrics import worker_metrics_serve

    worker_metrics_serve()


signals.worker_init.connect(_serve_worker_metrics, dispatch_uid="saas_worker_metrics")
