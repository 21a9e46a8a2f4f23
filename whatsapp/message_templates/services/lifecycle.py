"""Create (submit for review), edit and delete templates at Meta, keeping the stored rows in
step; upload a media header's example."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from whatsapp.errors import InvalidContentError
from whatsapp.message_templates.errors import TemplateInvalidError
from whatsapp.message_templates.models import MessageTemplate
from whatsapp.message_templates.review import template_review
from whatsapp.message_templates.services.common import meta_call, waba_of
from whatsapp.services.media_upload import media_validate_upload
from whatsapp.services.outbound.rules import current_organization

logger = logging.getLogger(__name__)


def _review_or_raise(definition: dict[str, Any]) -> None:
    problems = template_review(definition)
    if problems:
        fields: dict[str, list[str]] = {}
        for problem in problems:
            fields.setdefault(problem.field, []).append(problem.message)
        first = problems[0]
        raise TemplateInvalidError(first.message, field=first.field, fields=fields)


def template_create(*, definition: dict[str, Any], waba_id: str | None = None) -> MessageTemplate:
    """Check `definition` (Meta's create body) with the local review rules, submit it to Meta
    (`POST /{waba-id}/message_templates`) and store it as Meta answered (`PENDING` usually;
    the status webhook moves it on).

    Raises TemplateInvalidError naming every failing field (nothing sent to Meta), a
    TemplateInvalidError on `name` when that name and language exist already,
    TemplateRateLimitedError, TemplateMetaError, NoSendingNumberError.
    Meta: https://developers.facebook.com/docs/whatsapp/business-management-api/message-templates
    """
    _review_or_raise(definition)
    organization = current_organization()
    waba = waba_of(organization, waba_id)
    name, language = definition["name"], definition["language"]
    if MessageTemplate.objects.filter(
        waba_id=waba, name=name, language=language, deleted_at_meta=False
    ).exists():
        raise TemplateInvalidError(
            f"A template {name} in {language} exists already; delete it or pick another name.",
            field="name",
        )
    body = dict(definition)
    body["category"] = str(body["category"]).upper()
    body["parameter_format"] = str(body.get("parameter_format") or "POSITIONAL").upper()
    with meta_call() as client:
        answer = client.create_template(waba, body)
    meta_id = str(answer.get("id") or "")
    fields = {
        "meta_id": meta_id,
        "category": str(answer.get("category") or body["category"]).upper(),
        "parameter_format": body["parameter_format"],
        "components": body["components"],
        "last_synced_at": timezone.now(),
        "deleted_at_meta": False,
    }
    status = str(answer.get("status") or MessageTemplate.Status.PENDING)
    with transaction.atomic():
        template = (
            MessageTemplate.objects.select_for_update()
            .filter(waba_id=waba, name=name, language=language)
            .first()
        )
        if template is None:
            template = MessageTemplate.objects.create(
                waba_id=waba, name=name, language=language, status=status, **fields
            )
        else:
            # Meta's review webhook may have landed first (it created the row): its status is
            # newer than the create's answer and is kept. A row of an older, deleted template
            # of that name takes the answer's status.
            if template.meta_id != meta_id:
                template.status = status
                template.rejection_reason = template.rejection_recommendation = ""
            for key, value in fields.items():
                setattr(template, key, value)
            template.save()
    logger.info("template submitted: id=%s meta_id=%s", template.pk, template.meta_id)
    return template


def template_edit(
    *,
    template: MessageTemplate,
    components: list[Any] | None = None,
    category: str | None = None,
) -> MessageTemplate:
    """Edit a template at Meta (`POST /{template-id}`) after the local review checks of the
    edited definition; it is stored PENDING (Meta reviews it again; the status webhook tells).
    Raises TemplateInvalidError (naming the fields), TemplateRateLimitedError,
    TemplateMetaError (Meta refuses edits of templates in review, and limits edits of
    approved ones).
    Meta: https://developers.facebook.com/docs/whatsapp/business-management-api/message-templates#edit-a-message-template
    """
    definition = {
        "name": template.name,
        "language": template.language,
        "category": category or template.category,
        "parameter_format": template.parameter_format,
        "components": components if components is not None else template.components,
    }
    _review_or_raise(definition)
    changes: dict[str, Any] = {}
    if components is not None:
        changes["components"] = components
    if category is not None:
        changes["category"] = str(category).upper()
    with meta_call() as client:
        client.edit_template(template.meta_id, changes)
    for key, value in changes.items():
        setattr(template, key, value)
    template.status = MessageTemplate.Status.PENDING
    template.save()
    logger.info("template edited: id=%s fields=%s", template.pk, sorted(changes))
    return template


def template_delete(*, template: MessageTemplate, all_languages: bool = False) -> list[int]:
    """Delete a template at Meta, in its language only (`hsm_id`) or in every language (by
    name), then the stored rows; returns the deleted rows' ids. Raises
    TemplateRateLimitedError, TemplateMetaError.
    Meta: https://developers.facebook.com/docs/graph-api/reference/whats-app-business-account/message_templates/#Deleting
    """
    hsm_id = None if all_languages or not template.meta_id else template.meta_id
    if not template.deleted_at_meta:
        with meta_call() as client:
            client.delete_template(template.waba_id, template.name, hsm_id=hsm_id)
    rows = MessageTemplate.objects.filter(waba_id=template.waba_id, name=template.name)
    if not all_languages:
        rows = rows.filter(pk=template.pk)
    with transaction.atomic():
        ids = list(rows.values_list("pk", flat=True))
        MessageTemplate.objects.filter(pk__in=ids).delete()
    logger.info("template deleted: ids=%s all_languages=%s", ids, all_languages)
    return ids


# Meta's media header formats and the message type whose upload rules they follow.
HEADER_KINDS = {"IMAGE": "image", "VIDEO": "video", "DOCUMENT": "document"}


def template_header_handle(*, header_format: str, upload: Any) -> str:
    """Upload an example for a media header with the Resumable Upload API and return its
    handle, to put in the HEADER component's `example.header_handle` when creating.

    The file follows the send rules of its kind (MIME type, size). Raises InvalidContentError
    (field `file` or `format`), TemplateRateLimitedError, TemplateMetaError.
    Meta: https://developers.facebook.com/docs/graph-api/guides/upload
    """
    kind = HEADER_KINDS.get(str(header_format).upper())
    if kind is None:
        raise InvalidContentError("Use IMAGE, VIDEO or DOCUMENT.", field="format")
    mime_type = media_validate_upload(message_type=kind, upload=upload)
    with meta_call() as client:
        handle = client.upload_file_handle(
            settings.WHATSAPP_APP_ID,
            upload.read(),
            file_name=_safe_name(getattr(upload, "name", "") or kind),
            file_type=mime_type,
        )
    logger.info("template header example uploaded: kind=%s", kind)
    return handle


def _safe_name(name: str) -> str:
    return name.replace("\\", "/").rsplit("/", 1)[-1].strip()[:200] or "example"
