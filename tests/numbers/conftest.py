"""Helpers for the numbers tests."""

from __future__ import annotations

import httpx
from django.conf import settings


def code_exchange(code: str) -> httpx.Response:
    """Exchange an Embedded Signup code at the sandbox, as the platform would (spends it)."""
    return httpx.get(
        f"{settings.WHATSAPP_GRAPH_URL}/{settings.WHATSAPP_GRAPH_VERSION}/oauth/access_token",
        params={
            "client_id": settings.WHATSAPP_APP_ID,
            "client_secret": settings.WHATSAPP_APP_SECRET,
            "code": code,
        },
    )
