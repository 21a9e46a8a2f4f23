"""`GraphClient`: the one place the product talks to Meta's Graph API.

Plain Python, no Django: base URL, version, timeout and the token callbacks come from the
caller (settings `WHATSAPP_GRAPH_URL`, `WHATSAPP_GRAPH_VERSION`, `WHATSAPP_GRAPH_TIMEOUT`).
`_request` is the only method that performs HTTP.

Meta pages: https://developers.facebook.com/docs/whatsapp/cloud-api/reference/messages (send),
https://developers.facebook.com/documentation/business-messaging/whatsapp/business-phone-numbers/media/,
https://developers.facebook.com/documentation/business-messaging/whatsapp/access-tokens/,
https://developers.facebook.com/docs/graph-api/reference/whats-app-business-hsm/ (templates).
It never logs or raises a token (bearer, app secret, exchanged or inspected tokens are
scrubbed) nor a message body.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import httpx

from whatsapp.graph._wire import (
    install_log_redaction,
    loggable_url,
    next_cursor,
    parse_json,
    parse_retry_after,
    path_segment,
    read_body,
)
from whatsapp.graph.errors import (
    SENSITIVE_PARAMS,
    GraphAuthError,
    GraphConnectionError,
    GraphError,
    GraphTimeoutError,
    error_from_response,
)
from whatsapp.graph.payloads import mark_as_read_payload
from whatsapp.graph.types import (
    ExchangedToken,
    MediaInfo,
    PhoneNumberHealth,
    SentMessage,
    Template,
    TemplatePage,
    TokenInfo,
    UploadedMedia,
)

logger = logging.getLogger("whatsapp.graph")
install_log_redaction()


DEFAULT_USER_AGENT = "whatsapp-saas-platform/0.1 (+httpx)"
MAX_TEMPLATE_PAGES = 1000  # a cursor loop guard: 100k templates is far beyond Meta's cap


@dataclass(frozen=True)
class _Call:
    """One logical Graph call, replayed as is after a token refresh."""

    method: str
    url: str
    json: Any
    params: Mapping[str, Any] | None
    files: Mapping[str, Any] | None
    data: Mapping[str, Any] | None
    idempotent: bool
    max_bytes: int | None
    raw: bool
    content: bytes | None = None
    headers: Mapping[str, str] | None = None


class GraphClient:
    """A Graph API client over one pooled `httpx.Client`; thread-safe like httpx.

    `token_provider()` returns the current access token for each request. `token_refresher()`,
    when given, is called once after a 190 (token invalid/expired) and must return a new token;
    the request is then retried once. Close the client (or use it as a context manager) when it
    owns its httpx.Client; an injected `http` client is left open for its owner.
    """

    def __init__(
        self,
        *,
        base_url: str,
        api_version: str,
        token_provider: Callable[[], str],
        token_refresher: Callable[[], str] | None = None,
        timeout: float | httpx.Timeout = 10.0,
        http: httpx.Client | None = None,
        user_agent: str = DEFAULT_USER_AGENT,
    ) -> None:
        self.base_url = f"{base_url.rstrip('/')}/{api_version.strip('/')}"
        self._token_provider = token_provider
        self._token_refresher = token_refresher
        # Always a timeout, even on an injected client (per request below).
        self._timeout = timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout)
        self._owns_http = http is None
        self._http = http or httpx.Client(
            timeout=self._timeout,
            limits=httpx.Limits(max_connections=100, max_keepalive_connections=20),
        )
        self._user_agent = user_agent

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> GraphClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"GraphClient(base_url={self.base_url!r})"

    # --- Messages ---------------------------------------------------------------------------------

    def send_message(self, phone_number_id: str, payload: Mapping[str, Any]) -> SentMessage:
        """Send one message (Meta: "Messages", POST /{phone-number-id}/messages;
        https://developers.facebook.com/docs/whatsapp/cloud-api/reference/messages).

        Build `payload` with `whatsapp.graph.payloads`. Never retried here: a read timeout raises
        `GraphTimeoutError(maybe_delivered=True)` (Meta may have accepted it). Raises
        `GraphAuthError` (after one refresh), `GraphRateLimitedError`, `GraphTransientError`,
        `GraphPermanentError` or `GraphError`.
        """
        data = self._request(
            "POST",
            f"{path_segment(phone_number_id)}/messages",
            json=dict(payload),
            idempotent=False,
        )
        return SentMessage.from_response(data)

    def mark_as_read(
        self, phone_number_id: str, wamid: str, typing_indicator: bool = False
    ) -> None:
        """Mark an inbound message (and earlier ones) read, optionally showing "typing…"
        (Meta: "Mark messages as read", "Typing indicators"). Idempotent.
        Raises `GraphPermanentError` 131009 for an unknown/too old wamid, or any Graph error."""
        self._request(
            "POST",
            f"{path_segment(phone_number_id)}/messages",
            json=mark_as_read_payload(wamid, typing_indicator=typing_indicator),
            idempotent=True,
        )

    # --- Media (Meta: business-phone-numbers/media) -----------------------------------------------

    def get_media_url(self, media_id: str, phone_number_id: str | None = None) -> MediaInfo:
        """Look up a media id (Meta: "Media", GET /{media-id}): a download URL valid ~5 minutes.
        Raises any Graph error (`GraphPermanentError` 100 for unknown ids)."""
        params = {"phone_number_id": phone_number_id} if phone_number_id else None
        return MediaInfo.from_response(
            self._request("GET", path_segment(media_id), params=params, idempotent=True)
        )

    def download_media(self, url: str, *, max_bytes: int) -> bytes:
        """Download a media URL from `get_media_url` (Meta: "Media", download) with the bearer
        token, following redirects, streaming and stopping past `max_bytes`.

        httpx drops the Authorization header on a redirect to another host, which is what we
        want: the token never leaves Meta's origin. Raises `GraphMediaTooLargeError`, a Graph
        error for non-2xx (404 usually means the URL expired: look it up again), or the
        transport errors. Verify sha256 against `MediaInfo.sha256` afterwards.
        """
        body = self._request(
            "GET", url, absolute_url=True, idempotent=True, max_bytes=max_bytes, raw=True
        )
        assert isinstance(body, bytes)
        return body

    def upload_media(
        self, phone_number_id: str, *, filename: str, content: bytes, mime_type: str
    ) -> UploadedMedia:
        """Upload a file (Meta: "Media", POST /{phone-number-id}/media, multipart `file`, `type`,
        `messaging_product`). Treated as idempotent: a duplicate upload only costs storage.
        Raises `GraphPermanentError` for unsupported types/sizes, or any Graph error."""
        data = self._request(
            "POST",
            f"{path_segment(phone_number_id)}/media",
            files={"file": (filename, content, mime_type)},
            data={"type": mime_type, "messaging_product": "whatsapp"},
            idempotent=True,
        )
        return UploadedMedia(id=str(data.get("id") or ""))

    def delete_media(self, media_id: str, phone_number_id: str | None = None) -> None:
        """Delete uploaded media (Meta: "Media", DELETE /{media-id}). Raises any Graph error."""
        params = {"phone_number_id": phone_number_id} if phone_number_id else None
        self._request("DELETE", path_segment(media_id), params=params, idempotent=True)

    # --- Tokens (Meta: access-tokens) -------------------------------------------------------------

    def exchange_token(
        self, *, app_id: str, app_secret: str, short_lived_token: str
    ) -> ExchangedToken:
        """Exchange a short-lived user token for a ~60-day one (Meta: "Get long-lived tokens",
        GET oauth/access_token, grant_type=fb_exchange_token). Sends no bearer token. Raises
        `GraphAuthError` (190: expired tokens cannot be exchanged) or any Graph error."""
        data = self._request(
            "GET",
            "oauth/access_token",
            params={
                "grant_type": "fb_exchange_token",
                "client_id": app_id,
                "client_secret": app_secret,
                "fb_exchange_token": short_lived_token,
            },
            idempotent=True,
            authenticated=False,
        )
        return ExchangedToken.from_response(data)

    def debug_token(self, *, input_token: str, app_token: str) -> TokenInfo:
        """Inspect a token (Meta: "debug_token", GET /debug_token?input_token&access_token=<app
        token>). Uses the app token, not the provider's. Raises any Graph error; an invalid
        `input_token` is usually reported as `is_valid=False`, not as an error."""
        data = self._request(
            "GET",
            "debug_token",
            params={"input_token": input_token, "access_token": app_token},
            idempotent=True,
            authenticated=False,
        )
        return TokenInfo.from_response(data)

    def exchange_code(self, *, app_id: str, app_secret: str, code: str) -> ExchangedToken:
        """Exchange Embedded Signup's login `code` for the customer's business token (Meta:
        "Onboarding customers as a Tech Provider", GET oauth/access_token?code=;
        https://developers.facebook.com/documentation/business-messaging/whatsapp/embedded-signup/onboarding-customers-as-a-tech-provider).
        Sends no bearer token. The code is single-use and lives seconds: Meta answers 100 when
        it is used, expired or malformed."""
        data = self._request(
            "GET",
            "oauth/access_token",
            params={"client_id": app_id, "client_secret": app_secret, "code": code},
            idempotent=False,
            authenticated=False,
        )
        return ExchangedToken.from_response(data)

    # --- Onboarding and number health (Meta: Embedded Signup, phone numbers) ----------------------

    def subscribe_app(
        self,
        waba_id: str,
        *,
        override_callback_uri: str | None = None,
        verify_token: str | None = None,
    ) -> None:
        """Subscribe our app to a WABA's webhooks (Meta: "subscribed_apps", POST
        /{waba-id}/subscribed_apps; https://developers.facebook.com/docs/graph-api/reference/whats-app-business-account/subscribed_apps/).
        With `override_callback_uri` (+ `verify_token`) the WABA's webhooks go to that URL; Meta
        refuses an override (100) before a plain subscription. Raises any Graph error."""
        body = None
        if override_callback_uri:
            body = {"override_callback_uri": override_callback_uri, "verify_token": verify_token}
        self._request(
            "POST", f"{path_segment(waba_id)}/subscribed_apps", json=body, idempotent=True
        )

    def subscribed_apps(self, waba_id: str) -> list[dict[str, Any]]:
        """The apps subscribed to a WABA (GET /{waba-id}/subscribed_apps; same page), each with
        `whatsapp_business_api_data.id` and `override_callback_uri` when overridden."""
        data = self._request("GET", f"{path_segment(waba_id)}/subscribed_apps", idempotent=True)
        return [dict(item) for item in data.get("data") or () if isinstance(item, Mapping)]

    def register_phone_number(self, phone_number_id: str, *, pin: str) -> None:
        """Register a number for Cloud API with its two-step verification PIN (Meta:
        "Register", POST /{phone-number-id}/register;
        https://developers.secure.facebook.com/docs/graph-api/reference/whats-app-business-account-to-number-current-status/register).
        Raises GraphError: 133005 wrong PIN, 133015 wait a few minutes, 133016 too many
        attempts, among others. The PIN is never logged (it is only in the JSON body)."""
        self._request(
            "POST",
            f"{path_segment(phone_number_id)}/register",
            json={"messaging_product": "whatsapp", "pin": pin},
            idempotent=True,
        )

    def phone_number_health(self, phone_number_id: str) -> PhoneNumberHealth:
        """A number's status, quality, messaging limit and throughput (GET
        /{phone-number-id}?fields=...; see `PhoneNumberHealth`). Raises any Graph error."""
        data = self._request(
            "GET",
            path_segment(phone_number_id),
            params={"fields": PhoneNumberHealth.FIELDS},
            idempotent=True,
        )
        return PhoneNumberHealth.from_response(data)

    # --- Templates (Meta: whats-app-business-hsm) -------------------------------------------------

    def list_templates_page(
        self, waba_id: str, *, limit: int = 100, after: str | None = None, **filters: Any
    ) -> TemplatePage:
        """One page of GET /{waba-id}/message_templates (Meta: "Message templates"). Filters:
        `fields`, `status`, `name`, `category`, `language`. Raises any Graph error."""
        params: dict[str, Any] = {"limit": limit, **filters}
        if after:
            params["after"] = after
        data = self._request(
            "GET", f"{path_segment(waba_id)}/message_templates", params=params, idempotent=True
        )
        templates = tuple(Template.from_response(t) for t in data.get("data") or ())
        return TemplatePage(templates=templates, after=next_cursor(data))

    def list_templates(self, waba_id: str, *, limit: int = 100, **filters: Any) -> list[Template]:
        """Every template of a WABA, following `paging.next`/`cursors.after` until absent
        (Meta: "Message templates"). Raises any Graph error."""
        templates: list[Template] = []
        after: str | None = None
        seen: set[str] = set()
        for _ in range(MAX_TEMPLATE_PAGES):
            page = self.list_templates_page(waba_id, limit=limit, after=after, **filters)
            templates.extend(page.templates)
            if page.after is None or page.after in seen:
                break
            seen.add(page.after)
            after = page.after
        return templates

    def create_template(self, waba_id: str, payload: Mapping[str, Any]) -> dict[str, Any]:
        """Submit a template for review (Meta: "Message templates", POST /{waba-id}/
        message_templates) → `{"id", "status", "category"}`. Raises `GraphPermanentError`
        (100 and 132xxx for invalid templates) or any Graph error."""
        return self._request(
            "POST",
            f"{path_segment(waba_id)}/message_templates",
            json=dict(payload),
            idempotent=False,
        )

    def edit_template(self, template_id: str, payload: Mapping[str, Any]) -> None:
        """Edit a template's `components` and/or `category` (Meta: "Message templates", POST
        /{template-id}); it goes back to review. Raises any Graph error."""
        self._request("POST", path_segment(template_id), json=dict(payload), idempotent=True)

    def delete_template(self, waba_id: str, name: str, *, hsm_id: str | None = None) -> None:
        """Delete a template by name, all languages, or one with `hsm_id` (Meta: "Message
        templates", DELETE /{waba-id}/message_templates). Raises any Graph error."""
        params = {"name": name, **({"hsm_id": hsm_id} if hsm_id else {})}
        self._request(
            "DELETE", f"{path_segment(waba_id)}/message_templates", params=params, idempotent=True
        )

    def upload_file_handle(
        self, app_id: str, content: bytes, *, file_name: str, file_type: str
    ) -> str:
        """Upload a file with the Resumable Upload API and return its handle (for a template's
        media header example): `POST /{app-id}/uploads` opens a session, `POST
        /{upload-session-id}` with `file_offset: 0` sends the bytes
        (https://developers.facebook.com/docs/graph-api/guides/upload). Raises any Graph error."""
        session = self._request(
            "POST",
            f"{path_segment(app_id)}/uploads",
            params={"file_name": file_name, "file_length": len(content), "file_type": file_type},
            idempotent=False,
        )
        # Meta's session id may carry its own query (`upload:...?sig=...`): used as given, but
        # never as a path that leaves the version root.
        session_id = str(session.get("id") or "")
        if not session_id.startswith("upload:") or "/" in session_id:
            raise GraphError(f"unexpected upload session id from Meta: {session_id[:40]!r}")
        answer = self._request(
            "POST",
            session_id,
            content=content,
            headers={"file_offset": "0", "Content-Type": file_type},
            idempotent=False,
        )
        return str(answer.get("h") or "")

    # --- The only HTTP ----------------------------------------------------------------------------

    def _request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        files: Mapping[str, Any] | None = None,
        data: Mapping[str, Any] | None = None,
        absolute_url: bool = False,
        idempotent: bool,
        authenticated: bool = True,
        max_bytes: int | None = None,
        raw: bool = False,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        """Perform one Graph call and return its parsed JSON (or bytes when `raw`).

        Adds the bearer token (unless `authenticated=False`), raises typed errors, and on a 190
        with a refresher refreshes the token once and repeats the call once. `idempotent=False`
        POSTs turn read timeouts into `GraphTimeoutError(maybe_delivered=True)`.
        """
        call = _Call(
            method=method,
            url=path if absolute_url else f"{self.base_url}/{path.lstrip('/')}",
            json=json,
            params=params,
            files=files,
            data=data,
            idempotent=idempotent,
            max_bytes=max_bytes,
            raw=raw,
            content=content,
            headers=headers,
        )
        token = self._token_provider() if authenticated else None
        try:
            return self._send(call, token)
        except GraphAuthError as exc:
            if not authenticated or self._token_refresher is None or exc.code != 190:
                raise
            logger.warning("graph: token rejected (subcode=%s), refreshing once", exc.subcode)
            stale, token = token, self._token_refresher()
            return self._send(call, token, also_secret=stale)

    def _send(self, call: _Call, token: str | None, also_secret: str | None = None) -> Any:
        """One HTTP exchange for `_request` (its only caller)."""
        method, url, params, raw = call.method, call.url, call.params, call.raw
        # Every secret value of this call, scrubbed from anything we log or raise.
        secrets = [
            token,
            also_secret,
            *(str(v) for k, v in (params or {}).items() if k in SENSITIVE_PARAMS),
        ]
        headers = {"User-Agent": self._user_agent, "Accept": "application/json"}
        headers.update(call.headers or {})
        if token:
            headers["Authorization"] = f"Bearer {token}"
        log_path = loggable_url(url, params, absolute=not url.startswith(self.base_url))
        request = self._http.build_request(
            method,
            url,
            json=call.json,
            params=params,
            files=call.files,
            data=call.data,
            content=call.content,
            headers=headers,
            timeout=self._timeout,
        )
        started = time.monotonic()
        maybe_delivered = method == "POST" and not call.idempotent
        try:
            response = self._http.send(request, stream=True, follow_redirects=raw)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            self._log_failure(method, log_path, started, exc)
            # `from None`: httpx errors carry the request (URL with its query) along.
            raise GraphConnectionError(
                f"{method} {log_path}: {type(exc).__name__}: request not sent"
            ) from None
        except (httpx.TimeoutException, httpx.ReadError, httpx.RemoteProtocolError) as exc:
            # Sent (at least partly) but no answer. A WriteTimeout never completed the request,
            # so Meta cannot have acted on it; after that, Meta may have accepted it (no
            # idempotency key: https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes).
            self._log_failure(method, log_path, started, exc)
            raise GraphTimeoutError(
                f"{method} {log_path}: {type(exc).__name__}: no response",
                maybe_delivered=maybe_delivered and not isinstance(exc, httpx.WriteTimeout),
            ) from None
        except httpx.HTTPError as exc:
            # Anything else (protocol errors...): for a send we cannot tell whether it left,
            # so stay on the safe side (above) and do not claim it was not delivered.
            self._log_failure(method, log_path, started, exc)
            if maybe_delivered:
                raise GraphTimeoutError(
                    f"{method} {log_path}: {type(exc).__name__}", maybe_delivered=True
                ) from None
            raise GraphConnectionError(f"{method} {log_path}: {type(exc).__name__}") from None
        try:
            body = read_body(response, call.max_bytes if raw else None)
        except (httpx.TimeoutException, httpx.ReadError, httpx.RemoteProtocolError) as exc:
            self._log_failure(method, log_path, started, exc)
            raise GraphTimeoutError(
                f"{method} {log_path}: {type(exc).__name__} reading the body",
                maybe_delivered=maybe_delivered,
            ) from None
        finally:
            response.close()
        elapsed_ms = (time.monotonic() - started) * 1000
        status = response.status_code
        fbtrace_id = response.headers.get("x-fb-trace-id")
        parsed = None if raw else parse_json(body)
        failed = not response.is_success or (isinstance(parsed, dict) and "error" in parsed)
        if not failed:
            logger.info(
                "graph %s %s -> %s fbtrace_id=%s %.0fms",
                method,
                log_path,
                status,
                fbtrace_id,
                elapsed_ms,
            )
            if raw:
                return body
            return parsed if isinstance(parsed, dict) else ({"data": parsed} if body else {})
        error = error_from_response(
            status if status >= 400 else 400,
            parsed if parsed is not None else parse_json(body) or body,
            retry_after=parse_retry_after(response.headers.get("retry-after")),
            secrets=secrets,
        )
        error.http_status = status
        error.fbtrace_id = error.fbtrace_id or fbtrace_id
        logger.warning(
            "graph %s %s -> %s code=%s subcode=%s fbtrace_id=%s %.0fms",
            method,
            log_path,
            status,
            error.code,
            error.subcode,
            error.fbtrace_id,
            elapsed_ms,
        )
        raise error

    @staticmethod
    def _log_failure(method: str, path: str, started: float, exc: Exception | None) -> None:
        logger.warning(
            "graph %s %s -> %s %.0fms",
            method,
            path,
            type(exc).__name__ if exc else "timeout",
            (time.monotonic() - started) * 1000,
        )


__all__ = ["GraphClient"]
