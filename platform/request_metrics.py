"""Per-request Prometheus metrics: django-prometheus' `django_http_*` series, the few that matter.

django-prometheus' Before/After middleware pair updates about fifteen series per request
(bytes histograms, charset, transport, template name, ...): on Meta's webhook POST, the
platform's hottest path, that was a measurable share of the request's CPU
(benchmarks/webhook_ack.py). This one middleware, outermost, keeps its metric names and labels
for what dashboards use: requests by method, responses by status/view/method, latency by
view/method, exceptions by type and view.
https://github.com/korfuri/django-prometheus/blob/master/documentation/exports.md
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse
from django_prometheus.middleware import Metrics

_METHODS = frozenset(
    {"GET", "HEAD", "POST", "PUT", "DELETE", "TRACE", "OPTIONS", "CONNECT", "PATCH"}
)


def _view_name(request: HttpRequest) -> str:
    match = getattr(request, "resolver_match", None)
    return (match.view_name if match is not None else None) or "<unnamed view>"


class RequestMetricsMiddleware:
    """Counts each request and observes its latency (seconds, the whole middleware stack)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.metrics = Metrics.get_instance()

    def __call__(self, request: HttpRequest) -> HttpResponse:
        method = request.method if request.method in _METHODS else "<invalid method>"
        self.metrics.requests_by_method.labels(method=method).inc()
        started = time.perf_counter()
        response = self.get_response(request)
        view = _view_name(request)
        self.metrics.responses_by_status_view_method.labels(
            status=str(response.status_code), view=view, method=method
        ).inc()
        self.metrics.requests_latency_by_view_method.labels(view=view, method=method).observe(
            time.perf_counter() - started
        )
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> Any:
        self.metrics.exceptions_by_type.labels(type=type(exception).__name__).inc()
        self.metrics.exceptions_by_view.labels(view=_view_name(request)).inc()
        return None
