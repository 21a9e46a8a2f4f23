"""Handlers of Meta's template webhooks (registered in settings `WHATSAPP_WEBHOOK_HANDLERS`;
contract in `whatsapp.webhooks.handlers`): each updates the stored template and leaves one
`TemplateNotice` for the organization, keyed by the change id (a replayed change is skipped).

Payloads are parsed by `whatsapp.graph.template_updates` (Meta's pages cited there). Pauses:
Meta pauses a template whose quality fell for 3 h the first time, 6 h the second, and disables
it the third (https://developers.facebook.com/docs/whatsapp/business-management-api/message-templates/template-pausing).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from django.conf import settings
from django.utils import timezone
from django.utils.module_loading import import_string

from whatsapp.graph.template_updates import (
    TemplateCategoryUpdate,
    TemplateQualityUpdate,
    TemplateStatusUpdate,
    template_category_update_parse,
    template_quality_update_parse,
    template_status_update_parse,
)
from whatsapp.message_templates.models import MessageTemplate, TemplateNotice
from whatsapp.message_templates.services.common import template_status_stored
from whatsapp.webhooks.handlers import ChangeInput

PAUSE_HOURS = {"FIRST_PAUSE": 3, "SECOND_PAUSE": 6}
Kind = TemplateNotice.Kind


def _find(change: ChangeInput, template_id: str, name: str, language: str):
    rows = MessageTemplate.objects.all()
    if change.waba_id:
        rows = rows.filter(waba_id=change.waba_id)
    if template_id:
        found = rows.filter(meta_id=template_id).first()
        if found is not None:
            return found
    if name and language:
        return rows.filter(name=name, language=language).first()
    return None


def _each(changes: Sequence[ChangeInput], apply: Callable[[ChangeInput], str]) -> Mapping[int, str]:
    done = set(
        TemplateNotice.objects.filter(change_id__in=[c.change_id for c in changes]).values_list(
            "change_id", flat=True
        )
    )
    notes = {}
    for change in changes:
        notes[change.change_id] = (
            "replayed: already applied" if change.change_id in done else (apply(change))
        )
    return notes


def _notice(
    change: ChangeInput, template: MessageTemplate | None, kind: str, message: str, **data: Any
) -> None:
    TemplateNotice.objects.create(
        template=template, kind=kind, message=message, data=data, change_id=change.change_id
    )


def _label(template: MessageTemplate) -> str:
    return f"{template.name} ({template.language})"


def _status_apply(change: ChangeInput) -> str:
    update: TemplateStatusUpdate = template_status_update_parse(change.value)
    template = _find(change, update.template_id, update.name, update.language)
    if template is None:
        if not (change.waba_id and update.name and update.language):
            return "no stored template matches"
        template = MessageTemplate(
            waba_id=change.waba_id, name=update.name, language=update.language
        )
    previous = template.status
    template.status = template_status_stored(update.event)
    template.meta_id = update.template_id or template.meta_id
    if update.category:
        template.category = update.category
    now = timezone.now()
    kind, message = Kind.STATUS, f"{_label(template)} is now {update.event}."
    if update.event == "REJECTED":
        template.rejection_reason = update.rejection_reason or update.reason
        template.rejection_recommendation = update.recommendation
        kind = Kind.REJECTED
        message = f"Meta rejected {_label(template)}: {template.rejection_reason or 'no reason'}."
        if update.recommendation:
            message += f" Meta recommends: {update.recommendation}"
    elif update.event in ("PAUSED", "DISABLED") or (
        update.event == "APPROVED" and previous == "PAUSED"
    ):
        event = "UNPAUSED" if update.event == "APPROVED" else update.event
        template.pause_history = [
            *template.pause_history,
            {
                "at": now.isoformat(),
                "event": event,
                "title": update.pause_title,
                "description": update.pause_description,
            },
        ]
        if event == "PAUSED":
            hours = PAUSE_HOURS.get(update.pause_title)
            kind = Kind.PAUSED
            message = f"Meta paused {_label(template)} for low quality" + (
                f" for {hours} hours." if hours else "."
            )
        elif event == "DISABLED":
            kind = Kind.DISABLED
            message = f"Meta disabled {_label(template)} for low quality; it cannot be sent."
        else:
            kind, message = Kind.UNPAUSED, f"Meta unpaused {_label(template)}."
    elif update.event == "APPROVED":
        template.rejection_reason = template.rejection_recommendation = ""
        kind, message = Kind.APPROVED, f"Meta approved {_label(template)}."
    elif update.event == "REINSTATED":
        template.rejection_reason = template.rejection_recommendation = ""
        kind = Kind.APPROVED
        message = f"Meta reinstated {_label(template)}: it can be sent again."
    template.save()
    # Features that send templates react here (settings `WHATSAPP_TEMPLATE_STATUS_HOOKS`,
    # dotted paths called with the stored template and Meta's event: PAUSED, DISABLED,
    # APPROVED, REINSTATED, ...); core code never imports them.
    for hook in getattr(settings, "WHATSAPP_TEMPLATE_STATUS_HOOKS", ()):
        import_string(hook)(template=template, status=update.event, previous=previous)
    _notice(
        change,
        template,
        kind,
        message,
        event=update.event,
        reason=update.reason,
        title=update.pause_title,
        disable_date=update.disable_date,
    )
    return ""


def _on_stored(
    parse: Callable[[Any], Any], apply: Callable[[ChangeInput, Any, MessageTemplate], None]
) -> Callable[[ChangeInput], str]:
    """A change applied to the stored template it names; noted and skipped when none is."""

    def run(change: ChangeInput) -> str:
        update = parse(change.value)
        template = _find(change, update.template_id, update.name, update.language)
        if template is None:
            return "no stored template matches"
        apply(change, update, template)
        return ""

    return run


def _quality_apply(
    change: ChangeInput, update: TemplateQualityUpdate, template: MessageTemplate
) -> None:
    template.quality_score = update.new_score
    template.save(update_fields=["quality_score", "updated_at"])
    _notice(
        change,
        template,
        Kind.QUALITY,
        f"Quality of {_label(template)}: {update.previous_score or '?'} -> {update.new_score}.",
        previous=update.previous_score,
        new=update.new_score,
    )


def _category_apply(
    change: ChangeInput, update: TemplateCategoryUpdate, template: MessageTemplate
) -> None:
    if update.announced:
        template.announced_category = update.new_category
        template.category_change_at = update.effective_at
        when = update.effective_at.isoformat() if update.effective_at else "in about 24 hours"
        kind = Kind.CATEGORY_ANNOUNCED
        message = (
            f"Meta will change the category of {_label(template)} from "
            f"{template.category or '?'} to {update.new_category} at {when}: its price changes."
        )
    else:
        template.previous_category = update.previous_category or template.category
        template.category = update.new_category
        template.announced_category = ""
        template.category_change_at = None
        kind = Kind.CATEGORY_CHANGED
        message = (
            f"Meta changed the category of {_label(template)} from "
            f"{template.previous_category or '?'} to {update.new_category}."
        )
    template.save()
    _notice(
        change,
        template,
        kind,
        message,
        new=update.new_category,
        previous=template.previous_category,
    )


def status_handler(changes: Sequence[ChangeInput]) -> Mapping[int, str]:
    """`message_template_status_update`: status, rejection, pause history."""
    return _each(changes, _status_apply)


def quality_handler(changes: Sequence[ChangeInput]) -> Mapping[int, str]:
    """`message_template_quality_update`: the template's quality score."""
    return _each(changes, _on_stored(template_quality_update_parse, _quality_apply))


def category_handler(changes: Sequence[ChangeInput]) -> Mapping[int, str]:
    """`template_category_update`: an announced change (the price changes in ~24 h) or a
    completed one."""
    return _each(changes, _on_stored(template_category_update_parse, _category_apply))
