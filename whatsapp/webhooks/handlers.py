"""The contract between the webhook gateway and the features that consume webhook changes.

The gateway routes each `entry[].changes[]` item of a stored event to the organization that owns
it, then calls the handler registered for the change's `field` (settings
`WHATSAPP_WEBHOOK_HANDLERS`, a dict of field -> dotted path) with a batch of that tenant's
changes of that field, inside the tenant's schema and inside a transaction the gateway owns.

A handler:
- takes `Sequence[ChangeInput]` and returns `{change_id: notes}` for every change it applied
  (`notes` is "" or a short text about items it had to skip or set aside; kept on the change);
- must not commit or open connections of its own; it may use savepoints (`transaction.atomic()`);
- raises to fail the batch: the gateway then retries each change alone, so one bad change never
  blocks its siblings, and a change that keeps failing is recorded FAILED with its error.

Webhook fields: https://developers.facebook.com/docs/graph-api/webhooks/reference/whatsapp-business-account/
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class ChangeInput:
    """One routed change: its row id, Meta's `field`, the ids it was routed by, its `value`."""

    change_id: int
    field: str
    phone_number_id: str
    waba_id: str
    value: dict[str, Any]


class ChangeHandler(Protocol):
    def __call__(self, changes: Sequence[ChangeInput]) -> Mapping[int, str]: ...
