"""The token lifecycle: read, refresh (long-lived exchange) and halt an organization's sending.

Meta has no refresh tokens (reference §12): a long-lived user token is renewed by exchanging it
through `oauth/access_token?grant_type=fb_exchange_token` before it expires; an expired token
cannot be exchanged. System-user tokens that never expire (`expires_at` empty) are left alone.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from tenants.crypto import fingerprint
from tenants.errors import CredentialInvalidError
from tenants.models import Organization, WhatsAppCredential
from tenants.services.credentials import (
    credential_decrypt,
    credential_for,
    credential_mark_invalid,
    credential_store,
)
from whatsapp.graph.errors import GraphError
from whatsapp.services.graph import app_graph_client

logger = logging.getLogger(__name__)

# A refresh asked for by a worker whose token was already replaced this recently by another
# worker reuses that new token instead of exchanging again.
RECENT_REFRESH = timedelta(minutes=5)


class TokenRefreshError(CredentialInvalidError):
    """The token could not be refreshed; the organization's sending is halted."""


def get_access_token(org_id: str) -> str:
    """The organization's decrypted access token.

    Raises CredentialMissingError when none is stored and CredentialInvalidError when sending is
    halted (a refresh failed). Callers must never log or return the value.
    """
    return credential_decrypt(credential_for(str(org_id)))


def refresh_access_token(org_id: str, *, stale_token: str | None = None) -> str:
    """Exchange the organization's token for a new long-lived one and store it encrypted.

    `stale_token` is the token the caller saw rejected: when another worker has already replaced
    it, that newer token is returned without a second exchange, so concurrent refreshes neither
    race nor overwrite each other (the credential row is locked for the exchange). On failure the
    credential is marked invalid, the organization's sending halts, and TokenRefreshError is
    raised with Meta's reason (never the token).
    """
    org_id = str(org_id)
    with transaction.atomic():
        credential = (
            WhatsAppCredential.objects.select_for_update()
            .select_related("organization")
            .get(organization__org_id=org_id)
        )
        current = credential_decrypt(credential)
        replaced_by_someone_else = stale_token is not None and fingerprint(
            stale_token
        ) != fingerprint(current)
        recently_refreshed = credential.refreshed_at and (
            timezone.now() - credential.refreshed_at < RECENT_REFRESH
        )
        if replaced_by_someone_else and recently_refreshed:
            logger.info("token already refreshed by another worker: org_id=%s", org_id)
            return current
        try:
            with app_graph_client() as client:
                exchanged = client.exchange_token(
                    app_id=settings.WHATSAPP_APP_ID,
                    app_secret=settings.WHATSAPP_APP_SECRET,
                    short_lived_token=current,
                )
        except GraphError as exc:
            reason = f"token refresh failed: Meta error {exc.code}: {exc.message}"
            failed = exc
        else:
            stored = credential_store(
                organization=credential.organization,
                access_token=exchanged.access_token,
                expires_at=exchanged.expires_at(),
            )
            logger.info(
                "token refreshed: org_id=%s token=%s expires_at=%s",
                org_id,
                stored.masked,
                stored.expires_at,
            )
            return exchanged.access_token
    # Outside the rolled-back block: the halt must be committed even though the refresh failed.
    credential_mark_invalid(org_id=org_id, reason=reason)
    raise TokenRefreshError(reason) from failed


def credentials_expiring(within: timedelta) -> list[str]:
    """Org ids of valid credentials that expire within `within` (never-expiring ones excluded)."""
    return [
        str(org_id)
        for org_id in WhatsAppCredential.objects.filter(
            state=WhatsAppCredential.State.VALID,
            expires_at__isnull=False,
            expires_at__lte=timezone.now() + within,
            organization__status=Organization.Status.ACTIVE,
        ).values_list("organization_id", flat=True)
    ]


def exchange_short_lived_token(
    *, organization: Organization, short_lived_token: str
) -> WhatsAppCredential:
    """Exchange a token an org admin pasted (e.g. the dashboard's 24-hour one) for a long-lived
    one and store it; raises GraphError with Meta's reason when Meta refuses it."""
    with app_graph_client() as client:
        exchanged = client.exchange_token(
            app_id=settings.WHATSAPP_APP_ID,
            app_secret=settings.WHATSAPP_APP_SECRET,
            short_lived_token=short_lived_token.strip(),
        )
    return credential_store(
        organization=organization,
        access_token=exchanged.access_token,
        expires_at=exchanged.expires_at(),
    )
