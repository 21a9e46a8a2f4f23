"""The Meta Graph API endpoints of the sandbox (`/{version}/...`), with auth, fault injection
and request recording around every call.

Routing (version = `v\\d+\\.\\d+`):
  POST   /{v}/{phone_number_id}/messages        send / mark as read (+ typing indicator)
  POST   /{v}/{phone_number_id}/media           upload (multipart)
  GET    /{v}/{media_id} | DELETE /{v}/{media_id}  media lookup / delete (or a template by id)
  POST   /{v}/{template_id}                     edit a template (back to review)
  GET    /{v}/oauth/access_token                token exchange, app token (no bearer needed)
  GET    /{v}/debug_token                       inspect a token
  GET|POST|DELETE /{v}/{waba_id}/message_templates
  POST   /{v}/{app_id}/uploads | POST|GET /{v}/upload:<session>   resumable upload (handles)
  GET|POST|DELETE /{v}/{waba_id}/subscribed_apps  app subscription (+ callback override)
  POST   /{v}/{phone_number_id}/register        registration with a PIN
  GET    /{v}/{phone_number_id}                 the number's health fields
"""

from __future__ import annotations

import hashlib
import re
import time
from typing import Any

from whatsapp.sandbox import graph_admin, media, signup, uploads
from whatsapp.sandbox.errors import MetaError, error_for_code, invalid_parameter, token_expired
from whatsapp.sandbox.faults import Fault
from whatsapp.sandbox.payloads import envelope, messages_change, status_object
from whatsapp.sandbox.protocol import Request, Response, error_response, ok
from whatsapp.sandbox.state import SandboxState, SentMessage, new_wamid
from whatsapp.sandbox.template_checks import check_template_components
from whatsapp.sandbox.validation import validate_mark_read, validate_message, validate_recipient
from whatsapp.sandbox.webhooks import WebhookDispatcher

GRAPH_PATH_RE = re.compile(r"^/(v\d+\.\d+)/(.+?)/?$")
AUTO_STATUSES = ("sent", "delivered", "read")


class GraphApi:
    """Handles Graph requests against one `SandboxState`; `handle` never raises."""

    def __init__(self, state: SandboxState, dispatcher: WebhookDispatcher) -> None:
        self.state = state
        self.dispatcher = dispatcher

    @staticmethod
    def matches(path: str) -> bool:
        return bool(GRAPH_PATH_RE.match(path))

    def notify(self, payload: dict[str, Any], kind: str) -> None:
        self.dispatcher.submit(payload, kind=kind)

    # --- entry point -----------------------------------------------------------------------
    def handle(self, request: Request) -> Response:
        """Apply faults, authenticate, route, record. Drop/hold answers come back as actions."""
        started = time.time()
        parts = GRAPH_PATH_RE.match(request.path)
        segments = parts.group(2).split("/") if parts else []
        phone_number_id = segments[0] if len(segments) == 2 and segments[0].isdigit() else None
        faults = self.state.faults.take(request.method, request.path, phone_number_id)
        response = self._apply_faults(faults)
        accept_then_hold = next((f for f in faults if f.kind == "timeout_after_accept"), None)
        held = any(f.kind == "quality_hold" for f in faults)
        slow = next((f for f in faults if f.kind == "slow_after_accept"), None)
        if response is None:
            try:
                response = self._authenticated(request, segments, held=held)
            except MetaError as error:
                response = error_response(error)
            if slow is not None:
                self.state.stopping.wait(slow.ms / 1000)
            if accept_then_hold is not None:
                response = Response(
                    action="hold",
                    hold_seconds=accept_then_hold.seconds,
                    body=response.body,
                    status=response.status,
                )
        self._record(request, response, started)
        return response

    def _apply_faults(self, faults: list[Fault]) -> Response | None:
        for fault in faults:
            if fault.kind == "delay":
                self.state.stopping.wait(fault.ms / 1000)
            elif fault.kind == "drop":
                return Response(status=0, action="drop")
            elif fault.kind == "timeout":
                return Response(status=0, action="hold", hold_seconds=fault.seconds)
            elif fault.kind == "http_5xx":
                status = fault.status or 503
                code = fault.code or (2 if status == 503 else 1)
                return error_response(MetaError(code, http_status=status))
            elif fault.kind == "error_code":
                return error_response(
                    error_for_code(
                        int(fault.code or 1), subcode=fault.subcode, http_status=fault.status
                    )
                )
        return None

    def _authenticated(
        self, request: Request, segments: list[str], *, held: bool = False
    ) -> Response:
        if segments == ["oauth", "access_token"] and request.method == "GET":
            return graph_admin.access_token(self.state, request)
        token = request.bearer
        valid, subcode = self.state.token_is_valid(token or "")
        if not valid:
            raise token_expired(subcode)
        return self._route(request, segments, held=held)

    def _route(self, request: Request, segments: list[str], *, held: bool = False) -> Response:
        method = request.method
        if segments == ["debug_token"] and method == "GET":
            return graph_admin.debug_token(self.state, request)
        if len(segments) == 2 and segments[0].isdigit():
            object_id, edge = segments
            if edge == "messages" and method == "POST":
                return self.send(object_id, request, held=held)
            if edge == "media" and method == "POST":
                return media.upload(self.state, object_id, request)
            if edge == "subscribed_apps":
                if method == "POST":
                    return signup.subscribe_app(self.state, object_id, request)
                if method == "GET":
                    return signup.list_subscribed_apps(self.state, object_id, request)
                if method == "DELETE":
                    return signup.unsubscribe_app(self.state, object_id, request)
            if edge == "register" and method == "POST":
                return signup.register(self.state, object_id, request, self.notify)
            if edge == "message_templates":
                if method == "GET":
                    return graph_admin.list_templates(self.state, object_id, request)
                if method == "POST":
                    return graph_admin.create_template(self.state, object_id, request, self.notify)
                if method == "DELETE":
                    return graph_admin.delete_templates(self.state, object_id, request)
        if len(segments) == 2 and segments[1] == "uploads" and method == "POST":
            return uploads.start(self.state, segments[0], request)
        if len(segments) == 1 and segments[0].startswith("upload:"):
            if method == "POST":
                return uploads.upload(self.state, segments[0], request)
            if method == "GET":
                return uploads.status(self.state, segments[0])
        if len(segments) == 1:
            object_id = segments[0]
            if method == "GET" and object_id in self.state.phone_numbers:
                return signup.number_fields(self.state, object_id, request)
            template = graph_admin.template_by_id(self.state, object_id)
            if template is not None and method == "GET":
                return ok(template.to_graph())
            if template is not None and method == "POST":
                return graph_admin.edit_template(self.state, template, request, self.notify)
            if method == "GET":
                return media.lookup(self.state, object_id, request)
            if method == "DELETE":
                return media.delete(self.state, object_id)
        raise MetaError(
            100,
            f"Unknown path components: /{'/'.join(segments)}",
            error_type="OAuthException",
            http_status=400,
            with_error_data=False,
        )

    # --- messages --------------------------------------------------------------------------
    def send(self, phone_number_id: str, request: Request, *, held: bool = False) -> Response:
        """Send a message or mark one as read, with Meta's validation and limits.

        `held` (the `quality_hold` fault): accepted with `message_status:
        "held_for_quality_assessment"` and no status webhook follows (Meta's template pacing).
        """
        body = request.json_object()
        if body.get("messaging_product") != "whatsapp":
            raise invalid_parameter("Param messaging_product must be whatsapp")
        if body.get("status") == "read":
            return self._mark_read(phone_number_id, body)
        kind = validate_message(body)
        recipient_input, wa_id, user_id = validate_recipient(body)
        if wa_id:
            # Meta answers the user's WhatsApp id, which may be another form of the typed number.
            wa_id = self.state.resolve_wa_id(wa_id)
        number = self.state.phone_number(phone_number_id)
        if kind == "template":
            category = self._check_template(number.waba_id, number.registered, body["template"])
            pricing_type = "regular"
        else:
            customer = wa_id or user_id or ""
            if self.state.config.enforce_customer_window and not self.state.window_open(
                phone_number_id, customer
            ):
                raise MetaError(131047)
            category, pricing_type = "service", "free_customer_service"
        if not self.state.rate_allow(phone_number_id):
            raise MetaError(130429)
        sent = SentMessage(
            wamid=new_wamid(wa_id or user_id or ""),
            phone_number_id=phone_number_id,
            waba_id=number.waba_id,
            wa_id=wa_id,
            user_id=user_id,
            type=kind,
            category=category,
            pricing_type=pricing_type,
            biz_opaque_callback_data=body.get("biz_opaque_callback_data"),
            body=body,
        )
        with self.state.lock:
            self.state.sent[sent.wamid] = sent
        if self.state.config.auto_status and not held:
            self._auto_statuses(sent)
        contact: dict[str, Any] = {"input": recipient_input}
        if wa_id:
            contact["wa_id"] = wa_id
        if user_id:
            contact["user_id"] = user_id
        return ok(
            {
                "messaging_product": "whatsapp",
                "contacts": [contact],
                "messages": [
                    {
                        "id": sent.wamid,
                        "message_status": "held_for_quality_assessment" if held else "accepted",
                    }
                ],
            }
        )

    def _mark_read(self, phone_number_id: str, body: dict[str, Any]) -> Response:
        message_id = validate_mark_read(body)
        with self.state.lock:
            known = self.state.inbound.get(message_id)
        if known is None or known["phone_number_id"] != phone_number_id:
            raise MetaError(131009, details=f"Message with id {message_id} not found")
        return ok({"success": True})

    def _check_template(self, waba_id: str, registered: bool, template: dict[str, Any]) -> str:
        """The template's pricing category; 132001/132015/132016 when it cannot be sent."""
        name, language = template["name"], template["language"]["code"]
        candidates = self.state.find_templates(
            waba_id=waba_id if registered else None, name=name, language=language
        )
        statuses = {t.status: t for t in candidates}
        if "APPROVED" in statuses:
            check_template_components(statuses["APPROVED"], template)
            return statuses["APPROVED"].category.lower()
        if "PAUSED" in statuses:
            raise MetaError(132015)
        if "DISABLED" in statuses:
            raise MetaError(132016)
        raise MetaError(
            132001,
            details=f"template name ({name}) does not exist in {language}"
            + (" or is not approved" if candidates else ""),
        )

    def _auto_statuses(self, sent: SentMessage) -> None:
        number = self.state.phone_number(sent.phone_number_id)
        delays = self.state.config.auto_status_delays
        for status, delay in zip(AUTO_STATUSES, delays, strict=False):
            payload = envelope(
                [(number.waba_id, messages_change(number, statuses=[status_object(sent, status)]))]
            )
            self.dispatcher.submit(payload, delay=delay, kind="status")

    # --- recording -------------------------------------------------------------------------
    def _record(self, request: Request, response: Response, started: float) -> None:
        token = request.bearer
        headers = {k: v for k, v in request.headers.items() if k != "authorization"}
        query = {
            k: "sha256:" + hashlib.sha256(v.encode()).hexdigest()[:12]
            if k in graph_admin.SECRET_PARAMS
            else v
            for k, v in request.query.items()
        }
        self.state.record_request(
            {
                "time": started,
                "method": request.method,
                "path": request.path,
                "query": query,
                "headers": headers,
                "has_bearer": token is not None,
                "token_sha256": hashlib.sha256(token.encode()).hexdigest()[:12] if token else None,
                "body": request.parsed_body(),
                "status": response.status,
                "action": response.action,
                "response": response.json_body(),
            }
        )
