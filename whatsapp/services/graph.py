"""Graph API clients configured from settings: the only place Django meets `whatsapp.graph`.

One pooled httpx.Client per process is shared by every GraphClient (connections to Meta are
reused across tasks); each org's client reads its token through the token service, and refreshes
it once on error 190 (GraphClient's `token_refresher`).
"""

from __future__ import annotations

import threading

import httpx
from django.conf import settings

from whatsapp.graph.client import GraphClient

_http_lock = threading.Lock()
_http: httpx.Client | None = None


def shared_http_client() -> httpx.Client:
    """The process-wide pooled HTTP client (created on first use, after any fork)."""
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
    """A client that authenticates as the organization and refreshes its token once on 190."""
    from tenants.services.tokens import get_access_token, refresh_access_token

    org_id = str(org_id)
    seen: dict[str, str] = {}

    def token_provider() -> str:
        seen["token"] = get_access_token(org_id)
        return seen["token"]

    def token_refresher() -> str:
        seen["token"] = refresh_access_token(org_id, stale_token=seen.get("token"))
        return seen["token"]

    return _client(token_provider=token_provider, token_refresher=token_refresher)


def app_graph_client() -> GraphClient:
    """A client for app-level calls (token exchange, debug_token) that carry no org token."""
    app_token = f"{settings.WHATSAPP_APP_ID}|{settings.WHATSAPP_APP_SECRET}"
    return _client(token_provider=lambda: app_token)
