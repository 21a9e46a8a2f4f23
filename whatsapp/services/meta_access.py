"""Access to Meta for an organization: its token, the one refresh on 190, halting its sending,
and authenticated Graph clients. The only module that reads a token or builds a GraphClient.

`tenants` keeps the encrypted storage (tenants.services.credentials); the lifecycle lives here,
next to the Graph client it needs, so the two apps no longer import each other.

Meta has no refresh tokens: a long-lived user token is renewed by exchanging it through
`oauth/access_token?grant_type=fb_exchange_token` before it expires, and an expired token cannot
be exchanged (https://developers.facebook.com/docs/facebook-login/guides/access-tokens/get-long-lived).
System-user tokens that never expire (`expires_at` empty) are left alone. An invalid token
answers error 190 (https://developers.facebook.com/docs/graph-api/guides/error-handling).
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

import httpx
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
from whatsapp.graph.client import GraphClient
from whatsapp.graph.errors import GraphError

logger = logging.getLogger(__name__)

# A refresh asked for by a worker whose token was already replaced this recently by another
# worker reuses that new token instead of exchanging again.
RECENT_REFRESH = timedelta(minutes=5)


class TokenRefreshError(CredentialInvalidError):
    """The token could not be refreshed; the organization's sending is halted."""


# --- Tokens ------------------------------------------------------------------------------------


def access_token_get(*, org_id: str) -> str:
    """The organization's decrypted access token.

    Raises CredentialMissingError when none is stored and CredentialInvalidError when sending is
    halted (a refresh failed). Callers must never log or return the value.
    """
    return credential_decrypt(credential_for(str(org_id)))


def access_token_refresh(*, org_id: str, stale_token: str | None = None) -> str:
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
    sending_halt(org_id=org_id, reason=reason)
    raise TokenRefreshError(reason) from failed


def access_token_exchange(
    *, organization: Organization, short_lived_token: str
) -> WhatsAppCredential:
    """Exchange a token an org admin pasted (e.g. the dashboard's 24-hour one) for a long-lived
    one and store it encrypted (which also lifts a halt); raises GraphError with Meta's reason
    when Meta refuses it."""
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


def credentials_expiring(*, within: timedelta) -> list[str]:
    """Org ids of valid credentials of active organizations that expire within `within`
    (never-expiring ones excluded): what the beat refresh renews."""
    return [
        str(org_id)
        for org_id in WhatsAppCredential.objects.filter(
            state=WhatsAppCredential.State.VALID,
            expires_at__isnull=False,
            expires_at__lte=timezone.now() + within,
            organization__status=Organization.Status.ACTIVE,
        ).values_list("organization_id", flat=True)
    ]


def sending_halt(*, org_id: str, reason: str) -> None:
    """Halt the organization's sending: its token is marked invalid (with `reason`, which must
    not contain the token) until a new one is stored."""
    credential_mark_invalid(org_id=str(org_id), reason=reason)


# --- Graph clients -----------------------------------------------------------------------------

_http_lock = threading.Lock()
_http: httpx.Client | None = None


def shared_http_client() -> httpx.Client:
    """The process-wide pooled HTTP client (created on first use, after any fork).

    Every GraphClient shares it, so connections to Meta are reused across tasks.
    """
    global _http
    with _http_lock:
        if _http is None or _http.is_closed:
            _http = httpx.Client(
                timeout=settings.WHATSAPP_GRAPH_TIMEOUT,
                limits=httpx.Limits(max_connections=100, max_keepalive_connections=20),
            )
        return _http


def _client(**kwargs) -> GraphClient:
    # An injected httpx client is left open by GraphClient.close(): the pool outlives it.
    return GraphClient(
        base_url=settings.WHATSAPP_GRAPH_URL,
        api_version=settings.WHATSAPP_GRAPH_VERSION,
        timeout=settings.WHATSAPP_GRAPH_TIMEOUT,
        http=shared_http_client(),
        **kwargs,
    )


def graph_client_for_org(org_id: str) -> GraphClient:
    """A client that authenticates as the organization and refreshes its token once on 190
    (GraphClient's `token_refresher`; a second 190 is raised as GraphAuthError)."""
    org_id = str(org_id)
    seen: dict[str, str] = {}

    def token_provider() -> str:
        seen["token"] = access_token_get(org_id=org_id)
        return seen["token"]

    def token_refresher() -> str:
        seen["token"] = access_token_refresh(org_id=org_id, stale_token=seen.get("token"))
        return seen["token"]

    return _client(token_provider=token_provider, token_refresher=token_refresher)


def graph_client_for_token(access_token: str) -> GraphClient:
    """A client that authenticates with a token the caller holds (scripts, one-off calls): no
    refresh, nothing stored; a 190 is raised as GraphAuthError."""
    return _client(token_provider=lambda: access_token)


def app_graph_client() -> GraphClient:
    """A client for app-level calls (token exchange, debug_token) that carry no org token."""
    app_token = f"{settings.WHATSAPP_APP_ID}|{settings.WHATSAPP_APP_SECRET}"
    return _client(token_provider=lambda: app_token)
