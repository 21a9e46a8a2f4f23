"""Celery tasks that start in the public schema; Celery's autodiscovery imports this package."""

from tenants.tasks.tokens import *  # noqa: F403
