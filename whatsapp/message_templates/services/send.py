"""A template send checked against the stored template and built in Meta's shape."""

from __future__ import annotations

from typing import Any

from whatsapp.errors import InvalidContentError
from whatsapp.message_templates.compose import ParameterError, components_build
from whatsapp.message_templates.errors import TemplateNotFoundError, TemplateNotSendableError
from whatsapp.message_templates.models import MessageTemplate
from whatsapp.services.outbound.rules import current_organization, sending_number_for

# What our own shape adds to Meta's template object (Meta's `components` pass through as is).
OWN_KEYS = ("parameters", "header", "buttons")


def _refusal(template: MessageTemplate) -> str:
    status = template.status
    if template.deleted_at_meta:
        return f"The template {template.name} ({template.language}) was deleted at Meta."
    detail = {
        "PENDING": "it is still in Meta's review",
        "REJECTED": "Meta rejected it"
        + (f" ({template.rejection_reason})" if template.rejection_reason else ""),
        "PAUSED": "Meta paused it for low quality",
        "DISABLED": "Meta disabled it for low quality",
    }.get(status, f"its status is {status}")
    return f"The template {template.name} ({template.language}) cannot be sent: {detail}."


def template_for_send(*, waba_id: str, name: str, language: str) -> MessageTemplate:
    """The stored, APPROVED template; raises TemplateNotFoundError, TemplateNotSendableError."""
    template = MessageTemplate.objects.filter(waba_id=waba_id, name=name, language=language).first()
    if template is None:
        raise TemplateNotFoundError(
            f"No template {name} in {language} (sync the templates, or create it).",
            field="template.name",
        )
    if template.status != MessageTemplate.Status.APPROVED or template.deleted_at_meta:
        raise TemplateNotSendableError(_refusal(template), field="template.name")
    return template


def template_send_content(
    *, content: dict[str, Any], phone_number_id: str | None = None
) -> dict[str, Any]:
    """The send API's `template` object turned into Meta's: `{"name", "language": {"code"},
    "components": [...]}`.

    With `parameters`/`header`/`buttons`, the stored template of the sending number's WABA must
    exist in that language and be APPROVED, every variable gets a non-empty value of the right
    kind and media matches the header's format; `components` are then built exactly
    (`whatsapp.message_templates.compose`). Without them, a stored template must be APPROVED
    and Meta's own `components` (if given) pass through unchanged; a template this
    organization never synced passes through as given (Meta checks it).
    Raises TemplateNotFoundError (404), TemplateNotSendableError (409), InvalidContentError
    (400, naming the parameter), NoSendingNumberError.
    """
    organization = current_organization()
    number = sending_number_for(organization=organization, phone_number_id=phone_number_id)
    name = content.get("name")
    language = content.get("language")
    code = language.get("code") if isinstance(language, dict) else language
    if not isinstance(name, str) or not name:
        raise InvalidContentError("The template's name is required.", field="template.name")
    if not isinstance(code, str) or not code:
        raise InvalidContentError("The template's language is required.", field="template.language")
    own = any(key in content for key in OWN_KEYS)
    if "components" in content and own:
        raise InvalidContentError(
            "Give either Meta's components or parameters/header/buttons, not both.",
            field="template.components",
        )
    if not own:
        stored = MessageTemplate.objects.filter(
            waba_id=number.waba_id, name=name, language=code
        ).first()
        if stored is None:
            return content  # not synced here: Meta's shape passes through, Meta checks it
        template_for_send(waba_id=number.waba_id, name=name, language=code)
        if "components" in content:
            return content
    template = template_for_send(waba_id=number.waba_id, name=name, language=code)
    try:
        components = components_build(
            components=template.components,
            parameter_format=template.parameter_format,
            parameters=content.get("parameters"),
            header=content.get("header"),
            buttons=content.get("buttons"),
        )
    except ParameterError as exc:
        raise InvalidContentError(exc.message, field=exc.field) from None
    built: dict[str, Any] = {"name": name, "language": {"code": code}}
    if isinstance(language, dict) and language.get("policy"):
        built["language"]["policy"] = language["policy"]
    if components:
        built["components"] = components
    return built
