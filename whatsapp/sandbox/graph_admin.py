"""Graph endpoints around the messages: token exchange, debug_token (Meta: access tokens) and
message templates (Meta: message templates reference).

Meta pages:
- access tokens: https://developers.facebook.com/documentation/business-messaging/whatsapp/access-tokens/
- message templates reference: https://developers.facebook.com/docs/graph-api/reference/whats-app-business-hsm/
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from whatsapp.sandbox import signup
from whatsapp.sandbox.errors import MetaError, invalid_parameter, token_expired
from whatsapp.sandbox.payloads import (
    envelope,
    template_category_change,
    template_quality_change,
    template_status_change,
)
from whatsapp.sandbox.protocol import Request, Response, ok
from whatsapp.sandbox.state import SandboxState, Template, new_numeric_id

TEMPLATE_NAME_RE = re.compile(r"^[a-z0-9_]{1,512}$")
LANGUAGE_RE = re.compile(r"^[a-z]{2,3}(_[A-Z]{2}|_[A-Za-z]{4})?$")
CATEGORIES = ("MARKETING", "UTILITY", "AUTHENTICATION")
REJECT_PREFIX = "reject_"  # auto-review rejects these names (INVALID_FORMAT)
SCOPES = ["whatsapp_business_messaging", "whatsapp_business_management"]
Notify = Callable[[dict[str, Any], str], None]


def _client_secret_error() -> MetaError:
    return MetaError(1, "Error validating client secret.", http_status=400, with_error_data=False)


def access_token(state: SandboxState, request: Request) -> Response:
    """`GET /oauth/access_token`: fb_exchange_token or client_credentials."""
    query, config = request.query, state.config
    if query.get("client_id") != config.app_id:
        raise MetaError(
            101, "Error validating application. Invalid application ID.", with_error_data=False
        )
    if query.get("client_secret") != config.app_secret:
        raise _client_secret_error()
    if query.get("code"):  # Embedded Signup's login code (whatsapp/sandbox/signup.py)
        return signup.exchange_code(state, query["code"])
    grant = query.get("grant_type")
    if grant == "client_credentials":
        return ok({"access_token": f"{config.app_id}|{config.app_secret}", "token_type": "bearer"})
    if grant != "fb_exchange_token":
        raise invalid_parameter("Param grant_type must be fb_exchange_token or client_credentials")
    short_lived = query.get("fb_exchange_token") or ""
    valid, subcode = state.token_is_valid(short_lived)
    if not valid:
        raise token_expired(subcode)
    token, _ = state.issue_token(expires_in=config.exchanged_token_expires_in, kind="USER")
    return ok(
        {
            "access_token": token,
            "token_type": "bearer",
            "expires_in": config.exchanged_token_expires_in,
        }
    )


def debug_token(state: SandboxState, request: Request) -> Response:
    """`GET /debug_token?input_token&access_token` (the app token, or any valid token)."""
    config = state.config
    app_token = request.query.get("access_token") or request.bearer or ""
    if "|" in app_token and app_token != f"{config.app_id}|{config.app_secret}":
        raise MetaError(
            190, "Invalid OAuth access token signature.", http_status=400, with_error_data=False
        )
    input_token = request.query.get("input_token")
    if not input_token:
        raise invalid_parameter("Param input_token is required")
    valid, subcode = state.token_is_valid(input_token)
    record = state.token_record(input_token)
    with state.lock:
        wabas = sorted({n.waba_id for n in state.phone_numbers.values()} | {config.default_waba_id})
    data: dict[str, Any] = {
        "app_id": config.app_id,
        "type": record.kind,
        "application": config.application_name,
        "data_access_expires_at": int(record.issued_at) + 90 * 86400,
        "expires_at": int(record.expires_at),
        "is_valid": valid,
        "issued_at": int(record.issued_at),
        "scopes": SCOPES,
        "granular_scopes": [
            {"scope": scope, "target_ids": wabas if record.waba_ids is None else [*record.waba_ids]}
            for scope in SCOPES
        ],
        "user_id": record.user_id,
    }
    if not valid:
        data["error"] = {
            "code": 190,
            "message": "Error validating access token: Session has expired.",
            "subcode": subcode,
        }
    return ok({"data": data})


# --- templates -------------------------------------------------------------------------------
def list_templates(state: SandboxState, waba_id: str, request: Request) -> Response:
    """Filters name/status/language/category; cursor paging with limit/after."""
    query = request.query
    items = state.find_templates(waba_id=waba_id, name=query.get("name"))
    for key in ("status", "language", "category"):
        if query.get(key):
            wanted = {v.strip() for v in query[key].split(",")}
            items = [t for t in items if getattr(t, key) in wanted]
    try:
        limit = max(1, min(int(query.get("limit", "25")), 1000))
        start = int(base64.b64decode(query["after"]).decode()) if query.get("after") else 0
    except (ValueError, TypeError):
        raise invalid_parameter("Param after or limit is not valid") from None
    page = items[start : start + limit]
    body: dict[str, Any] = {"data": [t.to_graph() for t in page]}
    if page:
        cursors = {
            "before": base64.b64encode(str(start).encode()).decode(),
            "after": base64.b64encode(str(start + len(page)).encode()).decode(),
        }
        body["paging"] = {"cursors": cursors}
        if start + len(page) < len(items):
            params = {k: v for k, v in query.items() if k not in ("after", "access_token")}
            params |= {"limit": str(limit), "after": cursors["after"]}
            body["paging"]["next"] = f"http://{request.host}{request.path}?{urlencode(params)}"
    return ok(body)


def create_template(
    state: SandboxState, waba_id: str, request: Request, notify: Notify
) -> Response:
    """`POST /{waba}/message_templates` -> `{"id", "status": "PENDING", "category"}`."""
    template = template_create(state, waba_id, request.json_object(), notify=notify)
    return ok({"id": template.id, "status": "PENDING", "category": template.category})


def template_create(
    state: SandboxState,
    waba_id: str,
    body: dict[str, Any],
    *,
    notify: Notify | None,
    status: str | None = None,
) -> Template:
    """Validate and store a template. With `status` it is set directly (control API seeding);
    otherwise it is PENDING and auto-approved (with a status webhook) when configured."""
    name, language = body.get("name"), body.get("language")
    category = str(body.get("category", "")).upper()
    if not isinstance(name, str) or not TEMPLATE_NAME_RE.match(name):
        raise invalid_parameter("Param name must contain only lowercase letters, digits and _")
    if not isinstance(language, str) or not LANGUAGE_RE.match(language):
        raise invalid_parameter("Param language is not a valid language code")
    if category not in CATEGORIES:
        raise invalid_parameter(f"Param category must be one of {', '.join(CATEGORIES)}")
    components = body.get("components")
    if not isinstance(components, list) or not components:
        raise invalid_parameter("Param components must be a non-empty JSON array")
    if not any(str((c or {}).get("type", "")).upper() == "BODY" for c in components):
        raise invalid_parameter("Param components must contain a BODY component")
    if status is None:
        _check_header_handle(state, components)
    if state.find_templates(waba_id=waba_id, name=name, language=language):
        raise invalid_parameter("Content in this language already exists", subcode=2388024)
    template = Template(
        id=new_numeric_id(16),
        waba_id=waba_id,
        name=name,
        language=language,
        category=category,
        status="PENDING",
        components=components,
        parameter_format=str(body.get("parameter_format", "POSITIONAL")).upper(),
    )
    with state.lock:
        state.templates[template.id] = template
    if status is not None:
        template.status = status
    elif state.config.auto_approve_templates:
        if name.startswith(REJECT_PREFIX):
            # Review by rule, so tests choose the outcome: `reject_*` names are rejected.
            set_template_status(
                state,
                template,
                "REJECTED",
                reason="INVALID_FORMAT",
                extra={
                    "rejection_info": {
                        "reason": "The template has an invalid format.",
                        "recommendation": "Add sample values for every variable.",
                    }
                },
                notify=notify,
            )
        else:
            set_template_status(state, template, "APPROVED", notify=notify)
    return template


def _check_header_handle(state: SandboxState, components: list[Any]) -> None:
    """A media header's example must be a handle the resumable upload API gave out."""
    for index, component in enumerate(components):
        if not isinstance(component, dict) or str(component.get("type", "")).upper() != "HEADER":
            continue
        if str(component.get("format", "TEXT")).upper() not in ("IMAGE", "VIDEO", "DOCUMENT"):
            continue
        handles = (component.get("example") or {}).get("header_handle") or []
        with state.lock:
            known = bool(handles) and all(h in state.upload_handles for h in handles)
        if not known:
            raise invalid_parameter(
                f"Param components[{index}]['example']['header_handle'] must be a handle from "
                "the resumable upload API"
            )


EDITABLE_STATUSES = ("APPROVED", "REJECTED", "PAUSED")


def edit_template(
    state: SandboxState, template: Template, request: Request, notify: Notify
) -> Response:
    """`POST /{template-id}` with `components` and/or `category`: only an APPROVED, REJECTED or
    PAUSED template can be edited; it goes back to review (PENDING, auto-approved when
    configured). https://developers.facebook.com/docs/whatsapp/business-management-api/message-templates#edit-a-message-template
    """
    body = request.json_object()
    if template.status not in EDITABLE_STATUSES:
        raise invalid_parameter(f"A template in status {template.status} cannot be edited")
    components = body.get("components")
    category = body.get("category")
    if components is None and category is None:
        raise invalid_parameter("Param components or category is required")
    if components is not None:
        if not isinstance(components, list) or not components:
            raise invalid_parameter("Param components must be a non-empty JSON array")
        _check_header_handle(state, components)
    if category is not None and str(category).upper() not in CATEGORIES:
        raise invalid_parameter(f"Param category must be one of {', '.join(CATEGORIES)}")
    with state.lock:
        if components is not None:
            template.components = components
        if category is not None:
            template.category = str(category).upper()
        template.status = "PENDING"
    if state.config.auto_approve_templates:
        set_template_status(state, template, "APPROVED", notify=notify)
    return ok({"success": True})


def delete_templates(state: SandboxState, waba_id: str, request: Request) -> Response:
    """`DELETE ?name=` (all languages) or `&hsm_id=` (one)."""
    name, hsm_id = request.query.get("name"), request.query.get("hsm_id")
    if not name:
        raise invalid_parameter("Param name is required")
    matches = [
        t for t in state.find_templates(waba_id=waba_id, name=name) if not hsm_id or t.id == hsm_id
    ]
    if not matches:
        raise MetaError(100, details=f"Message template {name} not found", subcode=2593002)
    with state.lock:
        for template in matches:
            state.templates.pop(template.id, None)
    return ok({"success": True})


# Events after which Meta's template is sendable: REINSTATED (approved again after a disable or
# an appeal) leaves it APPROVED.
# https://developers.facebook.com/documentation/business-messaging/whatsapp/webhooks/reference/message_template_status_update
STATUS_AFTER_EVENT = {"REINSTATED": "APPROVED"}


def set_template_status(
    state: SandboxState,
    template: Template,
    status: str,
    *,
    reason: str = "NONE",
    extra: dict[str, Any] | None = None,
    notify: Notify | None = None,
) -> None:
    """Change a template's status and send the `message_template_status_update` webhook
    (`extra`: `other_info`, `rejection_info`, `disable_info`). An event that makes the template
    sendable again (REINSTATED) is what the webhook says; the template is then APPROVED, as
    Meta lists and sends it."""
    with state.lock:
        template.status = STATUS_AFTER_EVENT.get(status, status)
    if notify is not None:
        change = template_status_change(template, status, reason, extra)
        notify(envelope([(template.waba_id, change)]), "template_status")


def set_template_quality(
    state: SandboxState, template: Template, score: str, *, notify: Notify
) -> None:
    """Change a template's quality score and send `message_template_quality_update`."""
    with state.lock:
        previous, template.quality_score = template.quality_score, score
    notify(
        envelope([(template.waba_id, template_quality_change(template, previous, score))]),
        "template_quality",
    )


def set_template_category(
    state: SandboxState,
    template: Template,
    category: str,
    *,
    announce_at: int | None,
    notify: Notify,
) -> None:
    """Announce (`announce_at`: the change's Unix time) or apply a category change, with the
    `template_category_update` webhook of that shape."""
    previous = template.category
    if announce_at is None:
        with state.lock:
            template.category = category
    change = template_category_change(
        template, category, previous=previous, effective_at=announce_at
    )
    notify(envelope([(template.waba_id, change)]), "template_category")


def template_by_id(state: SandboxState, template_id: str) -> Template | None:
    with state.lock:
        return state.templates.get(template_id)


# Query parameters never stored in the request record (they carry secrets).
SECRET_PARAMS = ("access_token", "client_secret", "fb_exchange_token", "input_token", "code")
