"""Content-Security-Policy on documents only.

A CSP governs what a *document* may load and run; a JSON answer, a plain-text webhook
acknowledgement or a CSV download is never rendered as a page (SecurityMiddleware sends
`X-Content-Type-Options: nosniff`, so a browser will not sniff one into HTML). django-csp builds
the policy strings for every response (twice: enforced and report-only), which on Meta's webhook
POST, the hottest path, cost a measurable share of the request's CPU
(benchmarks/webhook_ack.py). Responses of the inert types below get no CSP header; every other
type (HTML, SVG, XML, anything unknown) gets the full policy.
https://developer.mozilla.org/docs/Web/HTTP/Headers/Content-Security-Policy
"""

from __future__ import annotations

from csp.middleware import CSPMiddleware
from django.http import HttpRequest, HttpResponseBase

# Media types a browser never executes as a document (with nosniff).
INERT_TYPES = ("application/json", "text/plain", "text/csv", "application/problem+json")


class DocumentCSPMiddleware(CSPMiddleware):
    """django-csp's middleware, skipping responses whose Content-Type is in INERT_TYPES."""

    def process_response(
        self, request: HttpRequest, response: HttpResponseBase
    ) -> HttpResponseBase:
        content_type = (response.get("Content-Type") or "").split(";", 1)[0].strip().lower()
        if content_type in INERT_TYPES:
            return response
        return super().process_response(request, response)
