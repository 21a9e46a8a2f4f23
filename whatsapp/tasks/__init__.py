"""Celery tasks of the tenant schemas; Celery's autodiscovery imports this package."""

from whatsapp.tasks.inbound import *  # noqa: F403
from whatsapp.tasks.outbound import *  # noqa: F403
from whatsapp.tasks.tokens import *  # noqa: F403
