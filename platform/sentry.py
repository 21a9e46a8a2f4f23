"""Error reporting to Sentry, on when `SENTRY_DSN` is set (settings call `sentry_init`).

Django and Celery integrations; `send_default_pii=False` (no user ids, IPs, cookies), and every
event passes `before_send`, which removes what must never leave the platform: request bodies
(webhook payloads and API requests carry message text), cookies, Authorization and signature
headers, the verify token of a query string, and any value under a secret-named key or that looks
like a credential, in the request, the extra/context data, breadcrumbs and local variables of
stack frames (`saas_platform.logs.redact_value`).
https://docs.sentry.io/platforms/python/data-management/sensitive-data/
"""

from __future__ import annotations

from typing import Any

from saas_platform.logs import REDACTED, redact_text, redact_value


def scrub_event(event: dict[str, Any], hint: dict[str, Any] | None = None) -> dict[str, Any]:
    """Sentry `before_send` (and `before_send_transaction`): the event without secrets/bodies."""
    request = event.get("request")
    if isinstance(request, dict):
        if "data" in request:
            request["data"] = REDACTED
        request.pop("cookies", None)
        if isinstance(request.get("query_string"), str):
            request["query_string"] = redact_text(request["query_string"])
        event["request"] = redact_value(request)
    for key in ("extra", "contexts", "tags", "user"):
        if key in event:
            event[key] = redact_value(event[key])
    breadcrumbs = event.get("breadcrumbs")
    if isinstance(breadcrumbs, dict) and isinstance(breadcrumbs.get("values"), list):
        breadcrumbs["values"] = [redact_value(crumb) for crumb in breadcrumbs["values"]]
    elif isinstance(breadcrumbs, list):
        event["breadcrumbs"] = [redact_value(crumb) for crumb in breadcrumbs]
    if isinstance(event.get("logentry"), dict):
        event["logentry"] = redact_value(event["logentry"])
    if isinstance(event.get("message"), str):
        event["message"] = redact_text(event["message"])
    for exception in (event.get("exception") or {}).get("values") or []:
        if isinstance(exception.get("value"), str):
            exception["value"] = redact_text(exception["value"])
        for frame in (exception.get("stacktrace") or {}).get("frames") or []:
            if "vars" in frame:
                frame["vars"] = redact_value(frame["vars"])
    return event


def sentry_init(*, dsn: str, environment: str, traces_sample_rate: float) -> bool:
    """Start the Sentry SDK when `dsn` is set; returns whether it was started."""
    if not dsn:
        return False
    import sentry_sdk
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.django import DjangoIntegration

    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        integrations=[DjangoIntegration(), CeleryIntegration()],
        send_default_pii=False,
        traces_sample_rate=traces_sample_rate,
        before_send=scrub_event,
        before_send_transaction=scrub_event,
    )
    return True
