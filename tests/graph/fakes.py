"""Fakes for the Graph client unit tests: the HTTP boundary is `httpx.MockTransport`.

Meta pages:
- error codes: https://developers.facebook.com/documentation/business-messaging/whatsapp/support/error-codes
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

from whatsapp.graph.client import GraphClient

TOKEN = "EAAGtokenSECRET0123456789abcdef"
NEW_TOKEN = "EAAGrefreshedSECRET9876543210"
BASE_URL = "https://graph.test"
VERSION = "v25.0"

Handler = Callable[[httpx.Request], httpx.Response]


@dataclass
class FakeMeta:
    """Records every request the client makes and answers with `handler`."""

    handler: Handler
    requests: list[httpx.Request] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.requests.append(request)
        return self.handler(request)


@dataclass
class ClientFactory:
    refreshes: list[str] = field(default_factory=list)
    clients: list[GraphClient] = field(default_factory=list)

    def __call__(
        self, handler: Handler, *, refresher: bool = True, token: str = TOKEN
    ) -> tuple[GraphClient, FakeMeta]:
        fake = FakeMeta(handler)

        def refresh() -> str:
            self.refreshes.append(NEW_TOKEN)
            return NEW_TOKEN

        client = GraphClient(
            base_url=BASE_URL,
            api_version=VERSION,
            token_provider=lambda: token,
            token_refresher=refresh if refresher else None,
            http=httpx.Client(transport=httpx.MockTransport(fake)),
        )
        self.clients.append(client)
        return client, fake


def graph_error(
    code: int,
    *,
    status: int = 400,
    subcode: int | None = None,
    headers: dict[str, str] | None = None,
    **extra: object,
) -> httpx.Response:
    """A Meta error envelope response (Meta: error codes)."""
    error: dict[str, object] = {
        "message": f"error {code}",
        "type": "OAuthException",
        "code": code,
        "fbtrace_id": "AbCdTrace",
        **extra,
    }
    if subcode is not None:
        error["error_subcode"] = subcode
    return httpx.Response(status, json={"error": error}, headers=headers)
