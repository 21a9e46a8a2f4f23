"""Celery tasks that start in the public schema; Celery's autodiscovery imports this package."""

from tenants.tasks.webhooks import *  # noqa: F403
