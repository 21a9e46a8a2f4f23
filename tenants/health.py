"""Liveness and readiness probes, served on every host, whatever the Host header says.

Kubernetes' HTTP probes (and most load balancers) send the pod's IP address as Host
(`Host: 10.244.1.7:8000`), which is neither in ALLOWED_HOSTS nor an organization's domain: the
tenant middleware would answer 404 and every pod would be marked unhealthy. `HealthProbeMiddleware`
runs first and answers exactly `GET`/`HEAD` `/healthz` and `/readyz` itself, before the host is
looked at (and before an HTTPS redirect, which a plain-HTTP probe cannot follow); every other path
keeps the host checks (ALLOWED_HOSTS, tenant routing). The two routes stay in `health_urls` too,
so that they answer on the public and organization hosts if the middleware is left out.
Kubernetes probes: https://kubernetes.io/docs/tasks/configure-pod-container/configure-liveness-readiness-startup-probes/
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from kombu import Connection

logger = logging.getLogger(__name__)


def healthz(request: HttpRequest) -> JsonResponse:
    """The process is up and serving requests."""
    return JsonResponse({"status": "ok"})


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True
    except Exception:
        logger.exception("readiness: database unreachable")
        return False


def _broker_ok() -> bool:
    try:
        with Connection(settings.CELERY_BROKER_URL, connect_timeout=2) as broker:
            broker.ensure_connection(max_retries=1, timeout=2)
        return True
    except Exception:
        logger.warning("readiness: broker unreachable")
        return False


def readyz(request: HttpRequest) -> JsonResponse:
    """The database and the Celery broker are reachable: 200, else 503 with what failed."""
    checks = {"database": _database_ok(), "broker": _broker_ok()}
    ready = all(checks.values())
    return JsonResponse(
        {"status": "ready" if ready else "unavailable", "checks": checks},
        status=200 if ready else 503,
    )


PROBES: dict[str, Callable[[HttpRequest], JsonResponse]] = {"/healthz": healthz, "/readyz": readyz}


class HealthProbeMiddleware:
    """Answer the health probes on any Host; must come first in MIDDLEWARE.

    Only the exact paths and safe methods are served here: `/healthz/`, a POST to `/healthz`,
    `/admin/` and everything else go on to the host checks unchanged. The probes read no
    session, cookie or tenant data, so answering them for an unknown Host discloses nothing.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        probe = PROBES.get(request.path_info)
        if probe is not None and request.method in ("GET", "HEAD"):
            response = probe(request)
            response["Cache-Control"] = "no-store"
            return response
        return self.get_response(request)
