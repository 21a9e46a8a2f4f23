"""The webhook event log: raw events and their changes, filtered, newest first, keyset-paged.

Pages are `id < before` slices of at most PAGE rows, so a page costs the same at any depth and
there is no `count(*)` over the log; counts are taken only for a replay's dry run.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Count, Max, Min, QuerySet

from tenants.models import Organization, PhoneNumber, RawWebhookEvent, WebhookChange
from whatsapp.webhooks.replay import REPLAYABLE_STATES

PAGE = 50
# The event log's raw-event "states" (events not split into changes yet, or kept because they
# could not be): filter value -> RawWebhookEvent.State.
EVENT_STATES = {
    "received": RawWebhookEvent.State.RECEIVED,
    "malformed": RawWebhookEvent.State.MALFORMED,
    "routing_failed": RawWebhookEvent.State.FAILED,
}


@dataclass(frozen=True)
class EventFilter:
    org: Organization | None = None
    field: str = ""
    phone_number_id: str = ""
    state: str = ""
    since: datetime | None = None
    until: datetime | None = None


def changes_filtered(flt: EventFilter) -> QuerySet[WebhookChange]:
    """Webhook changes matching the filter (any state but `received`), newest first."""
    changes = WebhookChange.objects.all()
    if flt.org is not None:
        changes = changes.filter(organization=flt.org)
    if flt.field:
        changes = changes.filter(field=flt.field)
    if flt.phone_number_id:
        changes = changes.filter(phone_number_id=flt.phone_number_id)
    if flt.state:
        changes = changes.filter(state=flt.state)
    if flt.since:
        changes = changes.filter(created_at__gte=flt.since)
    if flt.until:
        changes = changes.filter(created_at__lt=flt.until)
    return changes.order_by("-id")


def change_page(flt: EventFilter, *, before: int | None = None) -> list[WebhookChange]:
    """One page of the change log (PAGE rows), with each change's event and organization."""
    changes = changes_filtered(flt).select_related("organization").defer("value")
    changes = changes.select_related("event").defer("event__body", "event__headers")
    if before:
        changes = changes.filter(id__lt=before)
    return list(changes[:PAGE])


def event_page(flt: EventFilter, *, before: int | None = None) -> list[RawWebhookEvent]:
    """One page of raw events not split into changes (received, malformed, routing failed)."""
    states = [EVENT_STATES[flt.state]] if flt.state in EVENT_STATES else EVENT_STATES.values()
    events = RawWebhookEvent.objects.filter(state__in=list(states)).defer("body", "headers")
    if flt.since:
        events = events.filter(received_at__gte=flt.since)
    if flt.until:
        events = events.filter(received_at__lt=flt.until)
    if before:
        events = events.filter(id__lt=before)
    return list(events.order_by("-id")[:PAGE])


def replay_candidates(flt: EventFilter) -> QuerySet[WebhookChange]:
    """The replayable changes among those matching the filter (the dry run counts these)."""
    changes = changes_filtered(flt).order_by()
    states = [flt.state] if flt.state in REPLAYABLE_STATES else list(REPLAYABLE_STATES)
    return changes.filter(state__in=states)


def unroutable_numbers() -> list[dict[str, Any]]:
    """Unroutable changes grouped by phone number id: how many, first and last seen, and the
    organization that owns the number now (None: still nobody), largest groups first."""
    groups = list(
        WebhookChange.objects.filter(state=WebhookChange.State.UNROUTABLE)
        .order_by()
        .values("phone_number_id", "waba_id")
        .annotate(n=Count("*"), first=Min("created_at"), last=Max("created_at"))
        .order_by("-n")[:200]
    )
    owners = {
        number.phone_number_id: number.organization
        for number in PhoneNumber.objects.filter(
            phone_number_id__in=[g["phone_number_id"] for g in groups]
        ).select_related("organization")
    }
    for group in groups:
        group["owner"] = owners.get(group["phone_number_id"])
    return groups


# Keys whose values are Meta's metadata, not what a customer wrote or who they are; every
# other string is redacted until a member of staff reveals the body with a reason.
# https://developers.facebook.com/docs/whatsapp/cloud-api/webhooks/components
SAFE_KEYS = frozenset(
    {
        "object",
        "id",
        "field",
        "messaging_product",
        "display_phone_number",
        "phone_number_id",
        "type",
        "timestamp",
        "status",
        "code",
        "title",
        "event",
        "category",
        "pricing_model",
        "billable",
        "expiration_timestamp",
        "origin",
        "current_limit",
        "message_template_id",
        "message_template_name",
        "message_template_language",
        "previous_category",
        "new_category",
        "reason",
        "decision",
        "mime_type",
        "href",
    }
)


def _redact(value: Any, key: str = "") -> Any:
    if isinstance(value, dict):
        return {k: _redact(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact(v, key) for v in value]
    if isinstance(value, str) and key not in SAFE_KEYS:
        return f"[redacted: {len(value)} characters]"
    return value


def body_redacted(raw: bytes) -> str:
    """The body with customer data (texts, names, phone numbers, media captions...) replaced
    by `[redacted: N characters]`: every string except Meta's metadata keys (SAFE_KEYS)."""
    try:
        parsed = json.loads(bytes(raw))
    except ValueError:
        return f"[not JSON: {len(bytes(raw))} bytes, redacted]"
    return json.dumps(_redact(parsed), indent=2, ensure_ascii=False)


def change_value_redacted(value: Any) -> str:
    return json.dumps(_redact(value), indent=2, ensure_ascii=False)
