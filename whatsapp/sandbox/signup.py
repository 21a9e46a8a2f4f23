"""Embedded Signup and number registration as Meta runs them, for sandbox mode.

- `GET /_sandbox/signup?origin=<page origin>[&waba_id&phone_number_id]`: the stand-in for
  Meta's signup popup. "Finish" issues a login code and posts, to `window.opener` at `origin`,
  the JSON string `{"type": "WA_EMBEDDED_SIGNUP", "event": "FINISH", "data": {"phone_number_id",
  "waba_id", "business_id"}}` followed by `{"type": "WA_EMBEDDED_SIGNUP_LOGIN", "authResponse":
  {"code"}}` (the code Meta's SDK hands to `FB.login`'s callback); "Cancel" posts `CANCEL`.
- `POST /_sandbox/signup/codes`: the same code without a browser (tests).
- `GET /oauth/access_token?client_id&client_secret&code`: the code (once, within
  `signup_code_ttl`) for a business integration system user token whose granular scopes hold
  the WABA (or not, with `signup_grant_waba_scope: false`).
- `POST|GET /{waba}/subscribed_apps`: plain first; `override_callback_uri` + `verify_token`
  before a plain subscription is error 100.
- `POST /{phone}/register` `{"messaging_product": "whatsapp", "pin": "<6 digits>"}`: the first
  registration sets the PIN; another PIN is 133005. Faults (`error_code` 133015, 133016 on
  `/register$`) give the other refusals. The first registration of a WABA sends `account_update`
  `PARTNER_ADDED`.
- `GET /{phone}?fields=...`: the number's health; `POST /_sandbox/phone-numbers/health` sets it
  (e.g. `name_status: PENDING_REVIEW` for a number in review).

Meta pages:
- https://developers.facebook.com/documentation/business-messaging/whatsapp/embedded-signup/onboarding-customers-as-a-tech-provider
- https://developers.facebook.com/docs/graph-api/reference/whats-app-business-account/subscribed_apps/
- https://developers.secure.facebook.com/docs/graph-api/reference/whats-app-business-account-to-number-current-status/register
- https://developers.facebook.com/documentation/business-messaging/whatsapp/support/error-codes
"""

from __future__ import annotations

import html
import json
import re
import secrets
import time
from typing import Any
from urllib.parse import parse_qs

from whatsapp.sandbox.errors import MetaError, invalid_parameter
from whatsapp.sandbox.payloads import envelope
from whatsapp.sandbox.protocol import Request, Response, ok
from whatsapp.sandbox.state import SandboxState, Template, new_numeric_id

PIN_RE = re.compile(r"^\d{6}$")
HEALTH_FIELDS = ("status", "name_status", "quality_rating", "messaging_limit", "throughput_level")


# --- the popup and its code ----------------------------------------------------------------
def issue_code(state: SandboxState, spec: dict[str, Any]) -> dict[str, Any]:
    """A login code for a finished signup: the WABA and number (new ones unless given) exist,
    unregistered, and the WABA has Meta's `hello_world` sample template."""
    waba_id = str(spec.get("waba_id") or new_numeric_id(15))
    phone_number_id = str(spec.get("phone_number_id") or new_numeric_id(15))
    display = str(spec.get("display_phone_number") or "1555" + new_numeric_id(7))
    business_id = str(spec.get("business_id") or new_numeric_id(15))
    with state.lock:
        number = state.phone_number(phone_number_id)
        number.waba_id = waba_id
        number.display_phone_number = display.lstrip("+")
        if not state.find_templates(waba_id=waba_id, name="hello_world"):
            template = Template(
                id=new_numeric_id(16),
                waba_id=waba_id,
                name="hello_world",
                language="en_US",
                category="UTILITY",
                status="APPROVED",
                components=[{"type": "BODY", "text": "Hello World"}],
            )
            state.templates[template.id] = template
        code = "AQ" + secrets.token_urlsafe(32)
        state.signup_codes[code] = {
            "waba_id": waba_id,
            "phone_number_id": phone_number_id,
            "business_id": business_id,
            "issued_at": time.time(),
            "used": False,
        }
    return {
        "code": code,
        "waba_id": waba_id,
        "phone_number_id": phone_number_id,
        "business_id": business_id,
        "display_phone_number": display,
    }


def exchange_code(state: SandboxState, code: str) -> Response:
    """The business token for a login code (once, before it expires)."""
    with state.lock:
        signup = state.signup_codes.get(code)
        if signup is None:
            raise MetaError(100, "Invalid verification code format.", subcode=36007)
        if signup["used"]:
            raise MetaError(100, "This authorization code has been used.", subcode=36009)
        if time.time() - signup["issued_at"] > state.config.signup_code_ttl:
            raise MetaError(100, "This authorization code has expired.", subcode=36007)
        signup["used"] = True
        granted = (signup["waba_id"],) if state.config.signup_grant_waba_scope else ()
    token, record = state.issue_token(expires_in=0, kind="SYSTEM_USER")
    with state.lock:
        record.waba_ids = granted
    return ok({"access_token": token, "token_type": "bearer"})


def popup_page(state: SandboxState, request: Request) -> Response:
    """The stand-in signup popup (HTML); see the module docstring."""
    origin = request.query.get("origin", "")
    if not re.match(r"^https?://[^/\s]+$", origin):
        return Response(status=400, body={"error": {"message": "origin (scheme://host) needed"}})
    spec = {k: request.query[k] for k in ("waba_id", "phone_number_id") if request.query.get(k)}
    page = _POPUP.format(
        origin=json.dumps(origin),
        spec=json.dumps(spec),
        app=html.escape(state.config.application_name),
    )
    return Response(body=page.encode(), content_type="text/html; charset=utf-8")


_POPUP = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Connect WhatsApp (sandbox)</title>
<style>body{{font:16px system-ui,sans-serif;margin:2rem;max-width:28rem}}
button{{font-size:1rem;padding:.5rem 1rem;margin-right:.5rem}}</style></head>
<body><h1>Connect your WhatsApp Business Account</h1>
<p>Sandbox stand-in for Meta's Embedded Signup: <strong>{app}</strong> asks to manage your
WhatsApp Business Account and send messages.</p>
<button id="finish" type="button">Finish</button>
<button id="cancel" type="button">Cancel</button>
<script>
const ORIGIN = {origin}, SPEC = {spec};
function post(message) {{ window.opener.postMessage(JSON.stringify(message), ORIGIN); }}
document.getElementById("finish").addEventListener("click", async () => {{
  const answer = await fetch("/_sandbox/signup/codes", {{method: "POST",
    headers: {{"Content-Type": "application/json"}}, body: JSON.stringify(SPEC)}});
  const s = await answer.json();
  post({{type: "WA_EMBEDDED_SIGNUP", event: "FINISH", version: 4, data: {{
    phone_number_id: s.phone_number_id, waba_id: s.waba_id, business_id: s.business_id}}}});
  post({{type: "WA_EMBEDDED_SIGNUP_LOGIN", authResponse: {{code: s.code}}}});
  window.close();
}});
document.getElementById("cancel").addEventListener("click", () => {{
  post({{type: "WA_EMBEDDED_SIGNUP", event: "CANCEL", data: {{current_step: "WABA_PHONE"}}}});
  window.close();
}});
</script></body></html>
"""


# --- Graph: subscriptions, registration, health -------------------------------------------
def _check_waba_access(state: SandboxState, request: Request, waba_id: str) -> None:
    record = state.token_record(request.bearer or "")
    if record.waba_ids is not None and waba_id not in record.waba_ids:
        raise MetaError(200, "(#200) Permissions error", http_status=403)


def _params(request: Request) -> dict[str, str]:
    """Graph takes edge parameters as query, form or JSON alike."""
    params = dict(request.query)
    if request.body:
        if request.body[:1] == b"{":
            params |= {k: str(v) for k, v in request.json_object().items()}
        else:
            form = parse_qs(request.body.decode(errors="replace"))
            params |= {k: v[0] for k, v in form.items()}
    return params


def subscribe_app(state: SandboxState, waba_id: str, request: Request) -> Response:
    _check_waba_access(state, request, waba_id)
    params = _params(request)
    override = params.get("override_callback_uri")
    with state.lock:
        current = state.subscriptions.get(waba_id)
        if override:
            if current is None:
                raise invalid_parameter(
                    "The app must be subscribed to the WhatsApp Business Account before "
                    "overriding its callback URI"
                )
            if not params.get("verify_token"):
                raise invalid_parameter("Param verify_token is required with override_callback_uri")
            current["override_callback_uri"] = override
        elif current is None:
            state.subscriptions[waba_id] = {"override_callback_uri": None}
    return ok({"success": True})


def list_subscribed_apps(state: SandboxState, waba_id: str, request: Request) -> Response:
    _check_waba_access(state, request, waba_id)
    with state.lock:
        current = state.subscriptions.get(waba_id)
    if current is None:
        return ok({"data": []})
    app: dict[str, Any] = {
        "whatsapp_business_api_data": {
            "id": state.config.app_id,
            "name": state.config.application_name,
        }
    }
    if current.get("override_callback_uri"):
        app["override_callback_uri"] = current["override_callback_uri"]
    return ok({"data": [app]})


def unsubscribe_app(state: SandboxState, waba_id: str, request: Request) -> Response:
    _check_waba_access(state, request, waba_id)
    with state.lock:
        state.subscriptions.pop(waba_id, None)
    return ok({"success": True})


def register(state: SandboxState, phone_number_id: str, request: Request, notify) -> Response:
    body = request.json_object()
    if body.get("messaging_product") != "whatsapp":
        raise invalid_parameter("Param messaging_product must be whatsapp")
    pin = str(body.get("pin") or "")
    if not PIN_RE.match(pin):
        raise invalid_parameter("Param pin must be a 6-digit number")
    with state.lock:
        number = state.phone_numbers.get(phone_number_id)
    if number is None:
        raise MetaError(100, f"Unsupported post request. Object with ID '{phone_number_id}'")
    _check_waba_access(state, request, number.waba_id)
    with state.lock:
        if number.pin is not None and number.pin != pin:
            raise MetaError(133005)
        first = not number.registered
        number.pin, number.registered = pin, True
    if first and state.config.signup_account_update:
        change = {
            "field": "account_update",
            "value": {
                "event": "PARTNER_ADDED",
                "waba_info": {"waba_id": number.waba_id, "owner_business_id": new_numeric_id(15)},
            },
        }
        notify(envelope([(number.waba_id, change)]), "account_update")
    return ok({"success": True})


def number_fields(state: SandboxState, phone_number_id: str, request: Request) -> Response:
    """`GET /{phone-number-id}?fields=...` (all the health fields when none are named)."""
    with state.lock:
        number = state.phone_numbers[phone_number_id]
        data: dict[str, Any] = {
            "id": number.phone_number_id,
            "display_phone_number": "+" + number.display_phone_number,
            "verified_name": number.verified_name,
            "quality_rating": number.quality_rating,
            "whatsapp_business_manager_messaging_limit": number.messaging_limit,
            "status": number.status if number.registered else "PENDING",
            "name_status": number.name_status,
            "code_verification_status": "VERIFIED",
            "account_mode": "LIVE",
            "platform_type": "CLOUD_API" if number.registered else "NOT_APPLICABLE",
            "throughput": {"level": number.throughput_level},
            "is_on_biz_app": False,
        }
    wanted = [f.strip() for f in request.query.get("fields", "").split(",") if f.strip()]
    if wanted:
        data = {k: v for k, v in data.items() if k in wanted or k == "id"}
    return ok(data)


def set_health(state: SandboxState, body: dict[str, Any]) -> dict[str, Any]:
    """Control: set health fields of a known number."""
    with state.lock:
        number = state.phone_numbers[str(body["phone_number_id"])]
        for name in HEALTH_FIELDS:
            if body.get(name):
                setattr(number, name, str(body[name]).upper())
        return vars(number).copy()
