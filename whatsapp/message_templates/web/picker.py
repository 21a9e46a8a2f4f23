"""The inbox's template picker (a conversation whose 24-hour window is closed): the APPROVED
templates, the chosen one's variables pre-filled from the contact (`services.fill`), and the
send through the API's own path (`services.send.template_send_content`, then
`outbound.message_create`, whose signal queues the send).

Inputs are named `var_<variable>` (`var_1`, `var_first_name`), `header_text` (a numbered text
header's `{{1}}`), `header_link` (a media header's link) and `button_<index>` (a URL button's
suffix or a copy-code button's code).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.http import Http404

from tenants.errors import PlanLimitError
from whatsapp.errors import WhatsAppDomainError
from whatsapp.message_templates.compose import template_shape
from whatsapp.message_templates.models import MessageTemplate
from whatsapp.message_templates.review import MEDIA_HEADER_FORMATS
from whatsapp.message_templates.services.fill import template_parameters_fill
from whatsapp.message_templates.services.send import template_send_content
from whatsapp.message_templates.web.editor import preview_of
from whatsapp.models import Contact
from whatsapp.services.outbound import message_create


@dataclass(frozen=True)
class PickerInput:
    """One value the chosen template needs: `name` is the input's name."""

    name: str
    label: str
    value: str
    kind: str = "text"  # text | url


def _contact(contact_id: Any) -> Contact:
    if not str(contact_id).isdigit():
        raise Http404("No such contact.")
    contact = Contact.objects.filter(pk=int(contact_id)).first()
    if contact is None:
        raise Http404("No such contact.")
    return contact


def _approved() -> Any:
    return MessageTemplate.objects.filter(
        status=MessageTemplate.Status.APPROVED, deleted_at_meta=False
    )


def _template(template_id: Any) -> MessageTemplate | None:
    if not str(template_id).isdigit():
        return None
    return _approved().filter(pk=int(template_id)).first()


def _inputs(template: MessageTemplate, contact: Contact, typed: Mapping[str, Any] | None):
    """The inputs of the chosen template: typed values win, else the contact's fields."""
    shape = template_shape(template.components, template.parameter_format)
    filled = template_parameters_fill(template=template, contact=contact)
    prefilled = (
        dict(filled.parameters)
        if shape.named
        else dict(zip(shape.variables, filled.parameters, strict=True))
    )
    typed = typed or {}
    inputs = []
    if shape.header_format == "TEXT" and shape.header_variables and not shape.named:
        inputs.append(PickerInput("header_text", "Header {{1}}", typed.get("header_text", "")))
    elif shape.header_format in MEDIA_HEADER_FORMATS:
        kind = shape.header_format.lower()
        inputs.append(
            PickerInput("header_link", f"Header {kind} (link)", typed.get("header_link", ""), "url")
        )
    for variable in shape.variables:
        name = f"var_{variable}"
        value = typed[name] if name in typed else prefilled.get(variable, "")
        inputs.append(PickerInput(name, "{{" + variable + "}}", value))
    for slot in shape.buttons:
        if slot.sub_type in ("url", "copy_code"):
            label = "Link ending" if slot.sub_type == "url" else "Coupon code"
            name = f"button_{slot.index}"
            inputs.append(
                PickerInput(name, f"{label} (button {slot.index + 1})", typed.get(name, ""))
            )
    return shape, inputs


def picker_context(
    *, contact_id: Any, template_id: Any = "", typed: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """What `_picker.html` shows: the contact, the APPROVED templates, the chosen one with its
    inputs and a preview; `phone_number_id` (the conversation's number, sent from) is carried
    through. Raises Http404 for a contact not in this organization."""
    contact = _contact(contact_id)
    template = _template(template_id)
    context: dict[str, Any] = {
        "contact": contact,
        "templates": _approved(),
        "chosen": template,
        "phone_number_id": str((typed or {}).get("phone_number_id") or ""),
    }
    if template is not None:
        shape, inputs = _inputs(template, contact, typed)
        given = {i.name: i.value for i in inputs if i.value}
        values = {k[4:]: v for k, v in given.items() if k.startswith("var_")}
        header = values if shape.named else {"1": given.get("header_text", "")}
        context["inputs"] = inputs
        context["preview"] = preview_of(
            {"components": template.components}, values, header_values=header
        )
    return context


def _content(template: MessageTemplate, shape: Any, data: Mapping[str, Any]) -> dict[str, Any]:
    """The send API's `template` object from the picker's inputs."""
    values = {v: str(data.get(f"var_{v}", "")).strip() for v in shape.variables}
    content: dict[str, Any] = {
        "name": template.name,
        "language": template.language,
        "parameters": values if shape.named else [values[v] for v in shape.variables],
    }
    if shape.header_format == "TEXT" and shape.header_variables and not shape.named:
        content["header"] = {"type": "text", "text": str(data.get("header_text", "")).strip()}
    elif shape.header_format in MEDIA_HEADER_FORMATS:
        kind = shape.header_format.lower()
        content["header"] = {"type": kind, kind: {"link": str(data.get("header_link", "")).strip()}}
    keys = {"url": "url_suffix", "copy_code": "coupon_code"}
    buttons = [
        {
            "index": slot.index,
            keys[slot.sub_type]: str(data.get(f"button_{slot.index}", "")).strip(),
        }
        for slot in shape.buttons
        if slot.sub_type in keys
    ]
    if buttons:
        content["buttons"] = buttons
    return content


def _variable_of(shape: Any, field: str) -> str:
    """`{{code}}` for the send path's `template.parameters.code` / `template.parameters[1]`."""
    match = re.fullmatch(r"template\.parameters(?:\.(\w+)|\[(\d+)\])", field)
    if not match:
        return ""
    if match.group(1):
        return "{{" + match.group(1) + "}}"
    index = int(match.group(2))
    return "{{" + shape.variables[index] + "}}" if index < len(shape.variables) else ""


def picker_send(*, data: Mapping[str, Any]) -> dict[str, Any]:
    """Send the chosen template to the contact (queued like any API send); the picker's context
    with `sent` (the message) or `error` (a domain error's plain message, nothing queued).
    Raises Http404 for a contact not in this organization."""
    contact = _contact(data.get("contact", ""))
    # Any stored template: one paused since it was picked gets the send path's own refusal.
    template_id = str(data.get("template", ""))
    template = (
        MessageTemplate.objects.filter(pk=int(template_id)).first()
        if template_id.isdigit()
        else None
    )
    typed = {key: str(value) for key, value in data.items()}
    context = picker_context(
        contact_id=contact.pk, template_id=data.get("template", ""), typed=typed
    )
    if template is None:
        context["error"] = "Choose an approved template."
        return context
    shape = template_shape(template.components, template.parameter_format)
    recipient = f"+{contact.wa_id}" if contact.wa_id else (contact.user_id or "")
    phone_number_id = str(data.get("phone_number_id") or "") or None
    try:
        content = template_send_content(
            content=_content(template, shape, data), phone_number_id=phone_number_id
        )
        message = message_create(
            to=recipient,
            message_type="template",
            content=content,
            phone_number_id=phone_number_id,
        )
    except WhatsAppDomainError as exc:
        where = _variable_of(shape, exc.field or "")
        context["error"] = f"{where}: {exc.message}" if where else exc.message
        return context
    except PlanLimitError as exc:  # the plan's monthly messages, or a payment past due
        context["error"] = str(exc)
        return context
    context["sent"] = message
    return context
