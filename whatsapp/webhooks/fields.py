"""The gateway's own handlers, one per webhook `field` (registered in settings
`WHATSAPP_WEBHOOK_HANDLERS`; contract in `whatsapp.webhooks.handlers`).

- `messages`: a thin adapter over `whatsapp.services.inbound.messages_changes_apply` (messages
  and statuses), the whole tenant's batch at once.
- `phone_number_quality_update`: the number's quality and messaging-limit tier, on
  `tenants.PhoneNumber`.
- `account_update` / `business_capability_update`: recorded as `tenants.AccountEvent` rows the
  organization can see.

Payloads: https://developers.facebook.com/docs/graph-api/webhooks/reference/whatsapp-business-account/
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from django.db import connection
from django.utils import timezone

from tenants.models import AccountEvent, Organization, PhoneNumber
from whatsapp.webhooks.handlers import ChangeInput

logger = logging.getLogger(__name__)

# A `phone_number_quality_update` event, and the quality it tells (Meta sends FLAGGED when the
# quality rating dropped to low, UNFLAGGED when it recovered; tier moves keep the quality).
QUALITY_OF_EVENT = {"FLAGGED": "RED", "UNFLAGGED": "GREEN"}


def messages_handler(changes: Sequence[ChangeInput]) -> Mapping[int, str]:
    """`messages` changes (messages and statuses) applied in the current tenant, as one batch
    (`whatsapp.services.inbound.messages_changes_apply`: set-based, item path as fallback)."""
    from whatsapp.services.inbound import messages_changes_apply

    return messages_changes_apply(changes)


def _text(value: Any, limit: int = 64) -> str:
    return value.strip()[:limit] if isinstance(value, str) else ""


def _digits(value: Any) -> str:
    return "".join(ch for ch in str(value or "") if ch.isdigit())


def _current_organization() -> Organization:
    return Organization.objects.get(schema_name=connection.schema_name)


def phone_number_quality_handler(changes: Sequence[ChangeInput]) -> Mapping[int, str]:
    """Store each number's quality event, quality rating and messaging-limit tier.

    `value`: `{"display_phone_number": "15550783881", "event": "FLAGGED" | "UNFLAGGED" |
    "UPGRADE" | "DOWNGRADE" | ..., "current_limit": "TIER_10K", "old_limit"?,
    "max_daily_conversations_per_business"?, "quality_rating"?}`. The change carries no
    `metadata`: the number is found by its display number among this organization's numbers of
    the change's WABA. Notes say when no number matched (nothing is written then).
    """
    organization = _current_organization()
    notes = {}
    for change in changes:
        value = change.value
        display = _digits(value.get("display_phone_number"))
        numbers = PhoneNumber.objects.filter(organization=organization)
        if change.phone_number_id:
            numbers = numbers.filter(phone_number_id=change.phone_number_id)
        elif change.waba_id:
            numbers = numbers.filter(waba_id=change.waba_id)
        matched = [n for n in numbers if not display or _digits(n.display_number) == display]
        if not matched:
            notes[change.change_id] = f"no number of this organization shows {display or '-'}"
            continue
        event = _text(value.get("event"), 32).upper()
        tier = _text(value.get("current_limit")) or _text(
            value.get("max_daily_conversations_per_business")
        )
        rating = _text(value.get("quality_rating"), 32).upper() or QUALITY_OF_EVENT.get(event, "")
        updates: dict[str, Any] = {"quality_event": event, "health_updated_at": timezone.now()}
        if rating:
            updates["quality_rating"] = rating
        if tier:
            updates["messaging_limit_tier"] = tier
        PhoneNumber.objects.filter(pk__in=[n.pk for n in matched]).update(**updates)
        notes[change.change_id] = ""
    return notes


def account_event_handler(changes: Sequence[ChangeInput]) -> Mapping[int, str]:
    """Record `account_update` and `business_capability_update` changes for the organization.

    One `AccountEvent` per change (unique on the change id: a replay records nothing twice);
    `event` is `value.event` when Meta sends one (business_capability_update has none: its
    value holds the new limits, e.g. `max_daily_conversation_per_phone`).
    """
    organization = _current_organization()
    AccountEvent.objects.bulk_create(
        [
            AccountEvent(
                organization=organization,
                change_id=change.change_id,
                field=change.field,
                waba_id=change.waba_id,
                event=_text(change.value.get("event")),
                value=change.value,
            )
            for change in changes
        ],
        ignore_conflicts=True,
    )
    return {change.change_id: "" for change in changes}
