"""Structured logs: one JSON object per line (structlog over the standard `logging` module).

Every module keeps `logging.getLogger(__name__)`; the root handler formats each record through
structlog's `ProcessorFormatter` (settings `LOGGING`, built by `logging_config`). Each line
carries:

- `timestamp` (ISO 8601, UTC), `level`, `logger`, `event` (the message);
- `tenant`: the schema the database connection was in when the line was written (`public`,
  `org_acme`; `-` before any connection);
- `request_id`: the `X-Request-ID` the request came with (if it looks like one) or a new one,
  echoed in the response (`RequestIdMiddleware`);
- `task_id`, `task_name`: the Celery task being run (`task_context_connect`);
- `wamid` where a code path handles one message (`structlog.contextvars.bound_contextvars`).

Nothing secret or private is written: `redact` replaces the value of any key that names a
secret or a message's content (tokens, app secret, API keys, Authorization, passwords, bodies,
text, captions) and masks bearer tokens, `Api-Key` credentials, Meta access tokens (`EAA...`)
and `access_token=` query values inside any string, including the rendered message.

`LOG_FORMAT=json` (the default with DEBUG off) or `console` (colourless key=value lines for a
terminal, the default with DEBUG on).
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any

import structlog

REDACTED = "[redacted]"
access_logger = logging.getLogger("saas_platform.requests")

# Keys whose values are never written, whatever they hold (compared lower-case, `-` as `_`).
SENSITIVE_KEYS = frozenset(
    {
        "access_token",
        "token",
        "input_token",
        "fb_exchange_token",
        "client_secret",
        "app_secret",
        "secret",
        "secret_key",
        "api_key",
        "apikey",
        "authorization",
        "http_authorization",
        "proxy_authorization",
        "cookie",
        "http_cookie",
        "set_cookie",
        "password",
        "verify_token",
        "hub.verify_token",
        "x_hub_signature_256",
        "http_x_hub_signature_256",
        "signature",
        "sessionid",
        "csrftoken",
        "refresh",
        "access",
        # A message's content: the text a customer or an organization wrote.
        "body",
        "text",
        "caption",
        "raw",
        "payload",
    }
)

# Credentials recognisable inside free text (a rendered message, an exception, a URL).
_SECRET_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"(?i)\b(bearer|api-key|basic)\s+[A-Za-z0-9._~+/=\-]+"), rf"\1 {REDACTED}"),
    # Meta user/system-user access tokens start with EAA and are long base64-ish strings.
    (re.compile(r"\bEAA[A-Za-z0-9]{20,}"), REDACTED),
    (
        re.compile(
            r"(?i)\b(access_token|input_token|fb_exchange_token|client_secret|"
            r"hub\.verify_token|api_key|password)=([^&\s\"']+)"
        ),
        rf"\1={REDACTED}",
    ),
    # A signed media download link is a bearer credential (whatsapp.services.media_links).
    (re.compile(r"(/media/link/)[^/\s?'\"]+"), rf"\1{REDACTED}"),
    # A JWT (header.payload.signature, base64url).
    (re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]+"), REDACTED),
)

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{8,128}$")


def _sensitive(key: object) -> bool:
    return isinstance(key, str) and key.lower().replace("-", "_") in SENSITIVE_KEYS


def redact_text(text: str) -> str:
    """`text` with every recognisable credential masked."""
    for pattern, replacement in _SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def redact_value(value: Any, *, depth: int = 0) -> Any:
    """A copy of `value` (dicts, lists, tuples, strings nested up to 8 levels) with the values
    of sensitive keys replaced by `[redacted]` and credentials masked inside strings."""
    if depth > 8:
        return REDACTED
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, Mapping):
        return {
            key: REDACTED if _sensitive(key) else redact_value(item, depth=depth + 1)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return type(value)(redact_value(item, depth=depth + 1) for item in value)
    if value is None or isinstance(value, bool | int | float):
        return value
    # Anything else is rendered with str() (a request, an exception): redact that text.
    return redact_text(str(value))


def redact(_: Any, __: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    """structlog processor: the event dict with secrets and message contents removed."""
    return {
        key: REDACTED if _sensitive(key) else redact_value(value)
        for key, value in event_dict.items()
    }


def add_tenant(_: Any, __: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    """structlog processor: the schema of this thread's database connection, as `tenant`."""
    from django.db import connection

    event_dict.setdefault("tenant", getattr(connection, "schema_name", None) or "-")
    return event_dict


def _drop_record(_: Any, __: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    event_dict.pop("_record", None)
    event_dict.pop("_from_structlog", None)
    return event_dict


def _shared_processors(*, fmt: str = "json") -> list[Callable[..., Any]]:
    """What every line goes through before rendering (the console renderer formats exceptions
    itself)."""
    processors: list[Callable[..., Any]] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.PositionalArgumentsFormatter(),
        structlog.stdlib.ExtraAdder(),
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        add_tenant,
    ]
    if fmt != "console":
        processors.append(structlog.processors.format_exc_info)
    return [*processors, redact]


def formatter(*, fmt: str = "json") -> structlog.stdlib.ProcessorFormatter:
    """The `logging.Formatter` of every handler (settings `LOGGING` names it with `()`)."""
    renderer: Callable[..., Any]
    if fmt == "console":
        renderer = structlog.dev.ConsoleRenderer(colors=False)
    else:
        renderer = structlog.processors.JSONRenderer(default=str)
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=_shared_processors(fmt=fmt),
        processors=[_drop_record, redact, renderer],
    )


def logging_config(*, level: str, fmt: str) -> dict[str, Any]:
    """The `LOGGING` dict: one console handler, structured, on the root logger."""
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *_shared_processors(fmt=fmt),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "structured": {"()": "saas_platform.logs.formatter", "fmt": fmt},
        },
        "handlers": {
            "console": {"class": "logging.StreamHandler", "formatter": "structured"},
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            "django.db.backends": {"level": "WARNING"},
            "httpx": {"level": "WARNING"},
            "httpcore": {"level": "WARNING"},
            # Celery installs its own handlers unless told not to (worker_hijack_root_logger).
            "celery": {"level": level},
        },
    }


class RequestIdMiddleware:
    """Binds `request_id` to every log line of a request and answers with `X-Request-ID`.

    A well-formed incoming `X-Request-ID` (8-128 of `[A-Za-z0-9._:-]`, as set by a load
    balancer) is kept so that lines can be joined across tiers; anything else is replaced.
    """

    header = "HTTP_X_REQUEST_ID"

    def __init__(self, get_response: Callable[[Any], Any]) -> None:
        self.get_response = get_response

    def __call__(self, request: Any) -> Any:
        incoming = request.META.get(self.header) or ""
        request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
        request.request_id = request_id
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        started = time.perf_counter()
        try:
            response = self.get_response(request)
            response["X-Request-ID"] = request_id
            # One line per request (the path only: a query string can hold a verify token).
            access_logger.info(
                "%s %s %s",
                request.method,
                request.path,
                response.status_code,
                extra={
                    "method": request.method,
                    "path": request.path,
                    "status": response.status_code,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                },
            )
        finally:
            structlog.contextvars.clear_contextvars()
        return response


def _task_prerun(task_id: str | None = None, task: Any = None, **_: Any) -> None:
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(task_id=task_id, task_name=getattr(task, "name", None))


def _task_postrun(**_: Any) -> None:
    structlog.contextvars.clear_contextvars()


def task_context_connect() -> None:
    """Bind `task_id`/`task_name` to the log lines of each Celery task (called by the app)."""
    from celery import signals

    signals.task_prerun.connect(_task_prerun, dispatch_uid="saas_log_task_prerun", weak=False)
    signals.task_postrun.connect(_task_postrun, dispatch_uid="saas_log_task_postrun", weak=False)


def bound(**values: Any) -> Any:
    """`with bound(wamid=...):` adds the values to every log line written inside the block."""
    return structlog.contextvars.bound_contextvars(**values)


def bind(**values: Any) -> None:
    """Add the values to every further log line of this request or task (cleared at its end)."""
    structlog.contextvars.bind_contextvars(**values)
