"""The `/_sandbox/` control API: drive the customer side, inspect and script the sandbox.

JSON in, JSON out; errors are `{"error": {"message": ...}}` with HTTP 400/404. Paths are listed
in `ControlApi.ROUTES` and in README.md. Not subject to fault injection or token checks: it is
the test harness, bound to loopback.
"""

from __future__ import annotations

import copy
import secrets
import time
from collections.abc import Callable
from typing import Any

from whatsapp.sandbox import graph_admin, media, signup
from whatsapp.sandbox.errors import MetaError
from whatsapp.sandbox.faults import fault_from_dict
from whatsapp.sandbox.payloads import envelope, inbound_message, messages_change, status_object
from whatsapp.sandbox.protocol import Request, Response, error_response, ok
from whatsapp.sandbox.state import SandboxState
from whatsapp.sandbox.webhooks import Delivery, WebhookDispatcher

PREFIX = "/_sandbox/"
_random = secrets.SystemRandom()
Handler = Callable[[Request], Response]


class ControlError(Exception):
    """Bad control-API input (HTTP 400 unless `status` says otherwise)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


class ControlApi:
    """Routes `/_sandbox/...` requests; `handle` never raises."""

    def __init__(self, state: SandboxState, dispatcher: WebhookDispatcher) -> None:
        self.state = state
        self.dispatcher = dispatcher
        self.started_at = time.time()
        self.initial_config = copy.deepcopy(state.config)
        self.ROUTES: dict[tuple[str, str], Handler] = {
            ("GET", "health"): self.health,
            ("POST", "reset"): self.reset,
            ("GET", "config"): lambda r: ok(self.state.config.to_dict()),
            ("PATCH", "config"): self.patch_config,
            ("GET", "faults"): lambda r: ok({"faults": self.state.faults.list()}),
            ("POST", "faults"): self.add_fault,
            ("DELETE", "faults"): self.clear_faults,
            ("POST", "tokens/expire"): self.expire_token,
            ("POST", "tokens/revoke"): self.revoke_token,
            ("POST", "tokens/expire-all"): self.expire_all_tokens,
            ("POST", "tokens/issue"): self.issue_token,
            ("GET", "templates"): self.list_templates,
            ("POST", "templates"): self.create_template,
            ("POST", "templates/status"): self.template_status,
            ("POST", "templates/quality"): self.template_quality,
            ("POST", "templates/category"): self.template_category,
            ("GET", "phone-numbers"): self.list_numbers,
            ("POST", "phone-numbers"): self.register_number,
            ("POST", "phone-numbers/health"): self.set_number_health,
            ("GET", "signup"): lambda r: signup.popup_page(self.state, r),
            ("POST", "signup/codes"): lambda r: ok(signup.issue_code(self.state, self._body(r))),
            ("GET", "subscriptions"): lambda r: ok({"subscriptions": self._subscriptions()}),
            ("POST", "rate-limits"): self.set_rate_limit,
            ("POST", "windows"): self.set_window,
            ("GET", "customers"): lambda r: ok({"wa_ids": sorted(self.state.customers)}),
            ("POST", "customers"): self.register_customer,
            ("POST", "customer/messages"): self.customer_message,
            ("POST", "customer/batch"): self.customer_batch,
            ("POST", "statuses"): self.statuses,
            ("POST", "webhooks/raw"): self.raw_webhook,
            ("GET", "deliveries"): lambda r: ok({"deliveries": self.dispatcher.deliveries()}),
            ("DELETE", "deliveries"): self.clear_deliveries,
            ("GET", "requests"): self.list_requests,
            ("DELETE", "requests"): self.clear_requests,
            ("GET", "messages"): self.list_sent,
            ("GET", "media"): self.list_media,
        }

    def handle(self, request: Request) -> Response:
        route = request.path[len(PREFIX) :].strip("/")
        try:
            if route.startswith("media/") and request.method == "GET":
                return media.download(self.state, route.split("/", 1)[1], request)
            handler = self.ROUTES.get((request.method, route))
            if handler is None:
                raise ControlError(f"no control route {request.method} {request.path}", 404)
            return handler(request)
        except MetaError as error:
            return error_response(error)
        except ControlError as error:
            return Response(status=error.status, body={"error": {"message": str(error)}})
        except (ValueError, KeyError, TypeError) as error:
            return Response(status=400, body={"error": {"message": f"bad request: {error!r}"}})

    # --- helpers ---------------------------------------------------------------------------
    def _body(self, request: Request) -> dict[str, Any]:
        data = request.json()
        if not isinstance(data, dict):
            raise ControlError("body must be a JSON object")
        return data

    def _deliver(self, payload: dict[str, Any], kind: str, wait: bool) -> dict[str, Any]:
        delivery = self.dispatcher.submit(payload, kind=kind)
        return self._delivery_result(delivery, wait)

    def _delivery_result(self, delivery: Delivery, wait: bool) -> dict[str, Any]:
        if wait:
            delivery.first_attempt.wait(self.state.config.webhook_timeout + 1)
        first = delivery.attempts[0] if delivery.attempts else {}
        return {
            "delivery_id": delivery.id,
            "state": delivery.state,
            "status": first.get("status"),
            "error": first.get("error"),
            "attempt": first.get("attempt"),
        }

    # --- basics ----------------------------------------------------------------------------
    def health(self, request: Request) -> Response:
        return ok({"status": "ok", "uptime": round(time.time() - self.started_at, 3)})

    def reset(self, request: Request) -> Response:
        """Forget all state and restore the config the server started with."""
        with self.state.lock:
            for name in self.state.config.PATCHABLE:
                setattr(self.state.config, name, copy.deepcopy(getattr(self.initial_config, name)))
        self.state.reset()
        self.dispatcher.clear()
        return ok({"success": True})

    def patch_config(self, request: Request) -> Response:
        with self.state.lock:
            ignored = self.state.config.update(self._body(request))
        return ok({"config": self.state.config.to_dict(), "ignored": ignored})

    # --- faults and tokens -----------------------------------------------------------------
    def add_fault(self, request: Request) -> Response:
        body = self._body(request)
        if body.get("kind") == "expire_tokens":
            count = self.state.expire_tokens(body.get("mode", "known"))
            return ok({"applied": True, "kind": "expire_tokens", "expired_known_tokens": count})
        fault = fault_from_dict(body)
        self.state.faults.add(fault)
        return ok(fault.to_dict())

    def clear_faults(self, request: Request) -> Response:
        self.state.faults.clear()
        return ok({"success": True})

    def _token(self, request: Request) -> str:
        token = self._body(request).get("token")
        if not token:
            raise ControlError("token is required")
        return str(token)

    def expire_token(self, request: Request) -> Response:
        self.state.expire_token(self._token(request))
        return ok({"success": True})

    def revoke_token(self, request: Request) -> Response:
        self.state.expire_token(self._token(request), revoke=True)
        return ok({"success": True})

    def expire_all_tokens(self, request: Request) -> Response:
        mode = self._body(request).get("mode", "known")
        return ok({"expired_known_tokens": self.state.expire_tokens(mode)})

    def issue_token(self, request: Request) -> Response:
        body = self._body(request)
        token, record = self.state.issue_token(
            expires_in=float(body.get("expires_in", 0)), kind=body.get("type", "SYSTEM_USER")
        )
        return ok({"access_token": token, "expires_at": record.expires_at, "type": record.kind})

    # --- templates, numbers, limits, windows -----------------------------------------------
    def list_templates(self, request: Request) -> Response:
        items = self.state.find_templates(waba_id=request.query.get("waba_id"))
        return ok({"templates": [t.to_graph() | {"waba_id": t.waba_id} for t in items]})

    def create_template(self, request: Request) -> Response:
        """Seed a template directly (status defaults to APPROVED), skipping Graph validation."""
        body = self._body(request)
        waba_id = str(body.get("waba_id") or self.state.config.default_waba_id)
        spec = {
            "name": body.get("name"),
            "language": body.get("language", "en_US"),
            "category": body.get("category", "UTILITY"),
            "components": body.get("components") or [{"type": "BODY", "text": "Hello {{1}}"}],
            "parameter_format": body.get("parameter_format") or "POSITIONAL",
        }
        status = str(body.get("status", "APPROVED")).upper()
        template = graph_admin.template_create(
            self.state, waba_id, spec, notify=None, status=status
        )
        return ok(template.to_graph() | {"waba_id": template.waba_id})

    def _templates_of(self, body: dict[str, Any]) -> list[Any]:
        if body.get("template_id"):
            found = graph_admin.template_by_id(self.state, str(body["template_id"]))
            templates = [found] if found else []
        else:
            templates = self.state.find_templates(
                waba_id=body.get("waba_id"), name=body.get("name"), language=body.get("language")
            )
        if not templates:
            raise ControlError("no such template", 404)
        return templates

    def _notify(self, payload: dict[str, Any], kind: str) -> None:
        self.dispatcher.submit(payload, kind=kind)

    def template_status(self, request: Request) -> Response:
        """`{name|template_id, status, reason?, other_info?, rejection_info?, disable_info?}`."""
        body = self._body(request)
        status = str(body.get("status", "")).upper()
        if not status:
            raise ControlError("status is required (APPROVED, REJECTED, PAUSED, DISABLED, ...)")
        templates = self._templates_of(body)
        extra = {
            key: body[key]
            for key in ("other_info", "rejection_info", "disable_info")
            if isinstance(body.get(key), dict)
        }
        for template in templates:
            graph_admin.set_template_status(
                self.state,
                template,
                status,
                reason=body.get("reason", "NONE"),
                extra=extra,
                notify=self._notify,
            )
        return ok({"templates": [t.to_graph() for t in templates]})

    def template_quality(self, request: Request) -> Response:
        """`{name|template_id, score: GREEN|YELLOW|RED|UNKNOWN}`."""
        body = self._body(request)
        score = str(body.get("score", "")).upper()
        if score not in ("GREEN", "YELLOW", "RED", "UNKNOWN"):
            raise ControlError("score must be GREEN, YELLOW, RED or UNKNOWN")
        templates = self._templates_of(body)
        for template in templates:
            graph_admin.set_template_quality(self.state, template, score, notify=self._notify)
        return ok({"templates": [t.to_graph() for t in templates]})

    def template_category(self, request: Request) -> Response:
        """`{name|template_id, category, announce_at?}`: announced (Unix time it takes
        effect) or done."""
        body = self._body(request)
        category = str(body.get("category", "")).upper()
        if category not in graph_admin.CATEGORIES:
            raise ControlError("category must be MARKETING, UTILITY or AUTHENTICATION")
        announce_at = body.get("announce_at")
        templates = self._templates_of(body)
        for template in templates:
            graph_admin.set_template_category(
                self.state,
                template,
                category,
                announce_at=int(announce_at) if announce_at is not None else None,
                notify=self._notify,
            )
        return ok({"templates": [t.to_graph() for t in templates]})

    def list_numbers(self, request: Request) -> Response:
        with self.state.lock:
            numbers = [vars(n).copy() for n in self.state.phone_numbers.values()]
        return ok({"phone_numbers": numbers})

    def register_number(self, request: Request) -> Response:
        body = self._body(request)
        number = self.state.register_phone_number(
            str(body["phone_number_id"]),
            display_phone_number=body.get("display_phone_number"),
            waba_id=body.get("waba_id"),
        )
        if body.get("messages_per_second") is not None:
            number.messages_per_second = int(body["messages_per_second"])
        return ok(vars(number).copy())

    def set_number_health(self, request: Request) -> Response:
        try:
            return ok(signup.set_health(self.state, self._body(request)))
        except KeyError:
            raise ControlError("unknown phone_number_id", 404) from None

    def _subscriptions(self) -> dict[str, Any]:
        with self.state.lock:
            return copy.deepcopy(self.state.subscriptions)

    def set_rate_limit(self, request: Request) -> Response:
        body = self._body(request)
        mps = body.get("messages_per_second", body.get("mps"))
        self.state.set_rate_limit(str(body["phone_number_id"]), None if mps is None else int(mps))
        return ok({"success": True})

    def set_window(self, request: Request) -> Response:
        body = self._body(request)
        pnid, customer = str(body["phone_number_id"]), str(body["customer"]).lstrip("+")
        if body.get("open", True):
            if customer.isdigit():  # a window is opened by a message: they wrote from this id
                self.state.register_customer(customer)
            self.state.open_window(pnid, [customer], at=body.get("at"))
        else:
            with self.state.lock:
                self.state.windows.pop((pnid, customer), None)
        return ok({"success": True})

    def register_customer(self, request: Request) -> Response:
        """A WhatsApp user with this exact wa_id (sends to other forms resolve to it)."""
        wa_id = str(self._body(request).get("wa_id") or "")
        if not any(ch.isdigit() for ch in wa_id):
            raise ControlError("wa_id (digits) is required")
        return ok({"wa_id": self.state.register_customer(wa_id)})

    # --- the customer side -----------------------------------------------------------------
    def customer_message(self, request: Request) -> Response:
        body = self._body(request)
        waba_id, change = inbound_message(self.state, body)
        payload = envelope([(waba_id, change)])
        result = self._deliver(payload, "message", bool(body.get("wait", True)))
        return ok(result | {"message": change["value"]["messages"][0], "payload": payload})

    def customer_batch(self, request: Request) -> Response:
        """One delivery carrying every item (entries grouped by WABA, one change per item)."""
        body = self._body(request)
        items = body.get("items") or []
        if not items:
            raise ControlError("items is required")
        changes = [inbound_message(self.state, item) for item in items]
        payload = envelope(changes)
        result = self._deliver(payload, "batch", bool(body.get("wait", True)))
        messages = [c["value"]["messages"][0] for _, c in changes]
        return ok(result | {"messages": messages, "payload": payload})

    def statuses(self, request: Request) -> Response:
        """Status webhooks for sent wamids; `shuffle`, `duplicates`, `batch` (one POST)."""
        body = self._body(request)
        items = body.get("items") or [body]
        built = []
        for item in items:
            with self.state.lock:
                sent = self.state.sent.get(str(item.get("wamid")))
            if sent is None:
                raise ControlError(f"unknown wamid {item.get('wamid')!r}", 404)
            number = self.state.phone_number(sent.phone_number_id)
            obj = status_object(
                sent,
                str(item["status"]),
                errors=item.get("errors"),
                timestamp=item.get("timestamp"),
            )
            built.append((number, obj))
        built = built * max(1, int(body.get("duplicates", 1)))
        if body.get("shuffle"):
            _random.shuffle(built)
        wait = bool(body.get("wait", True))
        if body.get("batch"):
            payload = envelope(
                [(n.waba_id, messages_change(n, statuses=[copy.deepcopy(o)])) for n, o in built]
            )
            return ok({"deliveries": [self._deliver(payload, "status", wait)]})
        results = [
            self._deliver(envelope([(n.waba_id, messages_change(n, statuses=[o]))]), "status", wait)
            for n, o in built
        ]
        return ok({"deliveries": results})

    def raw_webhook(self, request: Request) -> Response:
        body = self._body(request)
        payload = body.get("payload")
        if not isinstance(payload, dict):
            raise ControlError("payload (a JSON object) is required")
        return ok(self._deliver(payload, body.get("kind", "raw"), bool(body.get("wait", True))))

    def clear_deliveries(self, request: Request) -> Response:
        self.dispatcher.clear()
        return ok({"success": True})

    # --- recordings ------------------------------------------------------------------------
    def list_requests(self, request: Request) -> Response:
        since = request.query.get("since")
        items = self.state.recorded_requests(
            path_contains=request.query.get("path_contains"),
            since=float(since) if since else None,
        )
        return ok({"requests": items})

    def clear_requests(self, request: Request) -> Response:
        with self.state.lock:
            self.state.requests.clear()
        return ok({"success": True})

    def list_sent(self, request: Request) -> Response:
        pnid = request.query.get("phone_number_id")
        with self.state.lock:
            sent = [vars(m).copy() for m in self.state.sent.values()]
        return ok({"messages": [m for m in sent if not pnid or m["phone_number_id"] == pnid]})

    def list_media(self, request: Request) -> Response:
        with self.state.lock:
            items = [m.meta() for m in self.state.media.values()]
        return ok({"media": items})
