"""Meta's webhook answered at the edge of the middleware stack, like the health probes.

`POST /webhooks/whatsapp/` is a server-to-server call signed with the app secret: it carries no
cookie, session, user, CSRF token or HTML, so the browser layers after this middleware
(static files, CSP, sessions, CSRF, authentication, membership, the second factor, messages,
clickjacking, htmx, sign-in lockouts) have nothing to do for it; each still costs its call.
At Meta's rates (one number at 80 mps drives about 320 POSTs/s) that per-request cost was the
largest share of the acknowledgement's CPU above a bare ingest app (benchmarks/webhook_ack.py).

So this middleware, placed after the request metrics, request id, host (tenant) and security
layers, sends the public host's webhook path straight to its view; every other request goes on
unchanged. The URL comes from `whatsapp/webhooks/urls.py` (one place), and the request keeps a
`resolver_match` so metrics and logs name the view as before.
https://developers.facebook.com/docs/graph-api/webhooks/getting-started
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import resolve, reverse
from django_tenants.utils import get_public_schema_name

WEBHOOK_URL_NAME = "whatsapp-webhook"


class WebhookEdgeMiddleware:
    """Route the public host's `whatsapp-webhook` URL to its view, past the browser layers.

    Must come after `CachedTenantMainMiddleware` (the Host decides the tenant: the webhook
    lives on the public host only) and `SecurityMiddleware` (HTTPS redirect, security headers).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        urlconf = settings.PUBLIC_SCHEMA_URLCONF
        self.path = reverse(WEBHOOK_URL_NAME, urlconf=urlconf)
        self.match = resolve(self.path, urlconf=urlconf)
        self.public_schema = get_public_schema_name()

    def __call__(self, request: HttpRequest) -> HttpResponse:
        tenant = getattr(request, "tenant", None)
        if request.path_info != self.path or tenant is None:
            return self.get_response(request)
        if tenant.schema_name != self.public_schema:
            return self.get_response(request)
        request.resolver_match = self.match
        return self.match.func(request, *self.match.args, **self.match.kwargs)
