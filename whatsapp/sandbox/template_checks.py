"""Send-time checks of a template message's `components` against the stored template, as
Meta makes them (Meta: sending message templates; error codes):

- 132000: the number of header or body parameters differs from the template's variables (or a
  named parameter the template does not have; a URL/copy-code button without its parameter);
- 132012: a parameter's format differs from the template's (text where the header expects an
  image, media for a text header);
- (#100) "Parameter name is missing or empty": a NAMED template sent with positional
  parameters (no `parameter_name`);
- 100: empty parameter text.

https://developers.facebook.com/docs/whatsapp/cloud-api/guides/send-message-templates
https://developers.facebook.com/documentation/business-messaging/whatsapp/support/error-codes
"""

from __future__ import annotations

import re
from typing import Any

from whatsapp.sandbox.errors import MetaError, invalid_parameter
from whatsapp.sandbox.state import Template

_VARIABLE_RE = re.compile(r"\{\{([a-z][a-z0-9_]*|[0-9]+)\}\}")
_MEDIA = ("image", "video", "document")


def _variables(text: Any) -> list[str]:
    found: list[str] = []
    for name in _VARIABLE_RE.findall(text if isinstance(text, str) else ""):
        if name not in found:
            found.append(name)
    return found


def _by_type(components: list[Any], kind: str) -> dict[str, Any] | None:
    for component in components:
        if isinstance(component, dict) and str(component.get("type", "")).upper() == kind:
            return component
    return None


def _check_text_parameters(part: str, params: list[Any], variables: list[str], named: bool) -> None:
    if len(params) != len(variables):
        raise MetaError(
            132000,
            details=f"{part}: number of localizable_params ({len(params)}) does not match the "
            f"expected number of params ({len(variables)})",
        )
    for param in params:
        if not isinstance(param, dict) or param.get("type") != "text":
            raise MetaError(132012, details=f"{part}: Format mismatch, expected TEXT")
        if named and not param.get("parameter_name"):
            raise MetaError(100, "(#100) Parameter name is missing or empty")
        if named and param["parameter_name"] not in variables:
            raise MetaError(
                132000, details=f"{part}: parameter {param['parameter_name']} is not expected"
            )
        if not str(param.get("text") or "").strip():
            raise invalid_parameter(f"{part}: Param text cannot be empty")


def check_template_components(template: Template, sent: dict[str, Any]) -> None:
    """Raise Meta's error when the sent `components` do not fit `template`."""
    stored = template.components or []
    given = sent.get("components") or []
    named = template.parameter_format.upper() == "NAMED"
    header = _by_type(stored, "HEADER")
    header_sent = _by_type(given, "HEADER")
    header_params = (header_sent or {}).get("parameters") or []
    header_format = str((header or {}).get("format") or "TEXT").upper()
    if header is not None and header_format.lower() in (*_MEDIA, "location"):
        kind = header_format.lower()
        if len(header_params) != 1 or (header_params[0] or {}).get("type") != kind:
            received = (header_params[0] or {}).get("type", "UNKNOWN") if header_params else None
            raise MetaError(
                132012,
                details=f"header: Format mismatch, expected {header_format}, received "
                f"{str(received or 'UNKNOWN').upper()}",
            )
    else:
        header_vars = _variables((header or {}).get("text")) if header else []
        if header_params and any((p or {}).get("type") in _MEDIA for p in header_params):
            raise MetaError(132012, details="header: Format mismatch, expected TEXT")
        _check_text_parameters("header", header_params, header_vars, named)
    body = _by_type(stored, "BODY")
    body_params = (_by_type(given, "BODY") or {}).get("parameters") or []
    _check_text_parameters("body", body_params, _variables((body or {}).get("text")), named)
    buttons = (_by_type(stored, "BUTTONS") or {}).get("buttons") or []
    sent_buttons = {
        str(c.get("index")): c
        for c in given
        if isinstance(c, dict) and str(c.get("type", "")).upper() == "BUTTON"
    }
    for index, button in enumerate(buttons):
        kind = str(button.get("type", "")).upper()
        needs = (kind == "URL" and _variables(button.get("url"))) or kind == "COPY_CODE"
        if needs and str(index) not in sent_buttons:
            raise MetaError(132000, details=f"button {index}: parameter missing")
    for index in sent_buttons:
        if not index.isdigit() or int(index) >= len(buttons):
            raise MetaError(132000, details=f"button {index}: the template has no such button")
