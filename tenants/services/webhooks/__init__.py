"""The shared WhatsApp webhook: signature check, durable raw store, routing and replay.

Flow (reference §15): verify the signature over the raw bytes -> store the body once (its SHA-256
dedupes Meta's redeliveries) -> answer 200 -> (Celery, public schema) split the event into one
WebhookChange per `entry[].changes[]` and route each to the organization that owns its number ->
(Celery, tenant schema) apply the change (`whatsapp.services.inbound`).

Every step is idempotent: the raw store is an upsert on the body hash, changes are unique per
(event, entry, change) and their processing locks the change row and commits the tenant's writes
and the change's PROCESSED state in one transaction. So any step may be re-run after a crash.
"""

from tenants.services.webhooks.process import (
    WrongTenantError,
    webhook_change_mark_failed,
    webhook_change_process,
)
from tenants.services.webhooks.receive import (
    SIGNATURE_HEADER,
    StoredEvent,
    raw_event_store,
    sign_body,
    signature_valid,
    verify_subscription,
)
from tenants.services.webhooks.replay import (
    REPLAYABLE_STATES,
    ReplayResult,
    webhook_replay,
    webhook_sweep,
)
from tenants.services.webhooks.retention import (
    webhook_events_prune,
)
from tenants.services.webhooks.route import (
    ChangeSpec,
    organization_for_change,
    split_changes,
    webhook_changes_enqueue,
    webhook_event_route,
)

__all__ = [
    "REPLAYABLE_STATES",
    "SIGNATURE_HEADER",
    "ChangeSpec",
    "ReplayResult",
    "StoredEvent",
    "WrongTenantError",
    "organization_for_change",
    "raw_event_store",
    "sign_body",
    "signature_valid",
    "split_changes",
    "verify_subscription",
    "webhook_change_mark_failed",
    "webhook_change_process",
    "webhook_changes_enqueue",
    "webhook_event_route",
    "webhook_events_prune",
    "webhook_replay",
    "webhook_sweep",
]
