"""Periodic refresh of access tokens before they expire (Celery beat).

Both tasks run in the public schema, where the credentials live: the beat entry
`refresh-expiring-tokens` starts the dispatcher there, and the refreshes it fans out inherit it.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings

from saas_platform.celery import app
from tenants.errors import CredentialInvalidError
from whatsapp.services.meta_access import access_token_refresh, credentials_expiring

logger = logging.getLogger(__name__)

__all__ = ["refresh_access_token_task", "refresh_expiring_tokens_task"]


@app.task(acks_late=True, soft_time_limit=60, time_limit=90)
def refresh_expiring_tokens_task() -> str:
    """Dispatcher (public schema): one refresh task per token expiring soon."""
    org_ids = credentials_expiring(
        within=timedelta(days=settings.WHATSAPP_TOKEN_REFRESH_DAYS_AHEAD)
    )
    for org_id in org_ids:
        refresh_access_token_task.delay(org_id)
    return f"dispatched {len(org_ids)} refresh(es)"


@app.task(acks_late=True, soft_time_limit=60, time_limit=90)
def refresh_access_token_task(org_id: str) -> str:
    try:
        access_token_refresh(org_id=org_id)
    except CredentialInvalidError as exc:
        # Already logged and the organization's sending halted; a retry cannot fix it.
        logger.warning("scheduled token refresh failed: org_id=%s: %s", org_id, exc)
        return "failed"
    return "refreshed"
