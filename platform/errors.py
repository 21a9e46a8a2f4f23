"""The answer to an unhandled error: 503 while the database is unreachable, else Django's 500.

A request that fails because PostgreSQL is away (restart, failover) is worth retrying: Meta
redelivers a webhook answered with a non-200 and load balancers and clients retry a 503 with
Retry-After, whereas a 500 reads as a bug. The tenant middleware needs the database to resolve
the host, so during an outage this is what every request without a cached host gets
(benchmarks/chaos.py restarts PostgreSQL under traffic).
"""

from __future__ import annotations

import sys

from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse
from django.views import defaults

RETRY_AFTER_SECONDS = 5


def server_error(request: HttpRequest) -> HttpResponse:
    """`handler500` of both URL confs."""
    if isinstance(sys.exc_info()[1], DatabaseError):
        response = HttpResponse(
            "temporarily unavailable", status=503, content_type="text/plain; charset=utf-8"
        )
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
    return defaults.server_error(request)
