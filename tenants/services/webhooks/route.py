"""Routing: split a stored event into changes and find the organization that owns each."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone
from django_tenants.utils import schema_context

from tenants.models import Organization, PhoneNumber, RawWebhookEvent, WebhookChange

logger = logging.getLogger(__name__)

# The `field` whose changes we apply; every other field is stored and marked processed.
MESSAGES_FIELD = "messages"


@dataclass(frozen=True)
class ChangeSpec:
    entry_index: int
    change_index: int
    field: str
    phone_number_id: str
    waba_id: str
    value: dict[str, Any]


def _as_id(value: Any) -> str:
    return str(value).strip()[:64] if isinstance(value, str | int) else ""


def split_changes(payload: Any) -> tuple[list[ChangeSpec], list[str]]:
    """The routable changes of a parsed body, and a list of problems found in its shape.

    Tolerant by design (reference: Meta adds fields all the time): a bad entry or change is
    reported and skipped, the rest is kept.
    """
    problems: list[str] = []
    if not isinstance(payload, dict):
        return [], ["body is not a JSON object"]
    if payload.get("object") not in (None, "whatsapp_business_account"):
        problems.append(f"object {str(payload.get('object'))[:60]!r} is not handled")
        return [], problems
    entries = payload.get("entry")
    if not isinstance(entries, list):
        return [], ["`entry` is missing or not a list"]
    specs: list[ChangeSpec] = []
    for entry_index, entry in enumerate(entries):
        if not isinstance(entry, dict) or not isinstance(entry.get("changes"), list):
            problems.append(f"entry {entry_index}: not an object with a `changes` list")
            continue
        waba_id = _as_id(entry.get("id"))
        for change_index, change in enumerate(entry["changes"]):
            value = change.get("value") if isinstance(change, dict) else None
            if not isinstance(value, dict):
                problems.append(f"entry {entry_index} change {change_index}: no `value` object")
                continue
            metadata = value.get("metadata")
            phone_number_id = (
                _as_id(metadata.get("phone_number_id")) if isinstance(metadata, dict) else ""
            )
            field = change.get("field")
            specs.append(
                ChangeSpec(
                    entry_index=entry_index,
                    change_index=change_index,
                    field=field[:64] if isinstance(field, str) else "",
                    phone_number_id=phone_number_id,
                    waba_id=waba_id,
                    value=value,
                )
            )
    return specs, problems


def organization_for_change(*, phone_number_id: str, waba_id: str) -> Organization | None:
    """Who owns a change: by `metadata.phone_number_id`, else by `entry.id` (the WABA, §4).

    A WABA whose numbers belong to more than one organization is ambiguous: unroutable.
    """
    if phone_number_id:
        number = (
            PhoneNumber.objects.select_related("organization")
            .filter(phone_number_id=phone_number_id)
            .first()
        )
        if number:
            return number.organization
    if waba_id:
        owners = set(
            PhoneNumber.objects.filter(waba_id=waba_id).values_list("organization_id", flat=True)
        )
        if len(owners) == 1:
            return Organization.objects.get(pk=owners.pop())
    return None


def change_state_for(spec: ChangeSpec, organization: Organization | None) -> tuple[str, str]:
    if organization is None:
        return WebhookChange.State.UNROUTABLE, "no organization owns this number or WABA"
    if not organization.is_active:
        return (
            WebhookChange.State.HELD,
            f"organization {organization.slug} is {organization.status}",
        )
    if spec.field != MESSAGES_FIELD:
        # Template/account/quality updates are kept (the raw event and this row) but not
        # applied yet: nothing in the product consumes them so far.
        return WebhookChange.State.PROCESSED, f"field {spec.field!r} stored, not handled"
    return WebhookChange.State.PENDING, ""


def webhook_event_route(*, event_id: int, enqueue: bool = True) -> list[tuple[int, str]]:
    """Split a RECEIVED event into WebhookChange rows, route them, enqueue the pending ones.

    Idempotent: the event row is locked, changes are created with ON CONFLICT DO NOTHING and an
    already ROUTED event only re-enqueues its still-pending changes. Returns them as (change id,
    tenant schema); with `enqueue=False` the caller processes them itself.
    """
    with transaction.atomic():
        event = RawWebhookEvent.objects.select_for_update().filter(pk=event_id).first()
        if event is None:
            logger.warning("webhook route: event_id=%s does not exist", event_id)
            return []
        if event.state == RawWebhookEvent.State.MALFORMED:
            return []
        if event.state == RawWebhookEvent.State.RECEIVED:
            try:
                payload = json.loads(bytes(event.body))
            except ValueError as exc:
                event.state = RawWebhookEvent.State.MALFORMED
                event.error = f"invalid JSON: {exc}"[:500]
                event.save(update_fields=["state", "error"])
                return []
            specs, problems = split_changes(payload)
            now = timezone.now()
            rows = []
            for spec in specs:
                organization = organization_for_change(
                    phone_number_id=spec.phone_number_id, waba_id=spec.waba_id
                )
                state, error = change_state_for(spec, organization)
                rows.append(
                    WebhookChange(
                        event=event,
                        entry_index=spec.entry_index,
                        change_index=spec.change_index,
                        field=spec.field,
                        phone_number_id=spec.phone_number_id,
                        waba_id=spec.waba_id,
                        organization=organization,
                        value=spec.value,
                        state=state,
                        error=error,
                        processed_at=now if state == WebhookChange.State.PROCESSED else None,
                    )
                )
                logger.info(
                    "webhook change routed: event_id=%s change=%s/%s field=%s "
                    "phone_number_id=%s org=%s state=%s",
                    event.pk,
                    spec.entry_index,
                    spec.change_index,
                    spec.field,
                    spec.phone_number_id,
                    organization.slug if organization else "-",
                    state,
                )
            WebhookChange.objects.bulk_create(rows, ignore_conflicts=True)
            if problems:
                logger.warning(
                    "webhook event shape problems: event_id=%s: %s", event.pk, "; ".join(problems)
                )
            if not specs and problems:
                event.state = RawWebhookEvent.State.MALFORMED
            else:
                event.state = RawWebhookEvent.State.ROUTED
            event.error = "; ".join(problems)[:2000]
            event.save(update_fields=["state", "error"])
        pending = list(
            WebhookChange.objects.filter(event=event, state=WebhookChange.State.PENDING)
            .select_related("organization")
            .order_by("entry_index", "change_index")
        )
        targets = [(change.pk, change.organization.schema_name) for change in pending]
        if enqueue:
            transaction.on_commit(lambda: webhook_changes_enqueue(targets))
    return targets


def webhook_changes_enqueue(
    targets: Iterable[tuple[int, str]], countdown: float | None = None
) -> None:
    """Send each change's processing task with its tenant's schema (tenant-schemas-celery reads
    the schema active at send time and switches the worker to it)."""
    from whatsapp.tasks.inbound import webhook_change_process_task

    for change_id, schema_name in targets:
        with schema_context(schema_name):
            webhook_change_process_task.apply_async(args=[change_id], countdown=countdown)
