"""The shared WhatsApp webhook gateway: receive, route, process, replay, retention.

- `views`, `urls`, `receive`: `/webhooks/whatsapp/` on the public host; signature over the raw
  bytes, one upsert of the raw event (the queue) with `pg_notify`, 200.
- `worker`, `process`, `route`: `manage.py webhook_worker` claims batches of stored events
  (SKIP LOCKED), splits and routes them, applies them per tenant and `field`.
- `handlers` (the contract), `fields` (the gateway's own handlers); the registry is settings
  `WHATSAPP_WEBHOOK_HANDLERS`.
- `replay` (`manage.py replay_webhooks`, the admin action), `retention` (`tasks`: daily prune),
  `admin`.

Its tables (RawWebhookEvent, WebhookChange, AccountEvent) live in `tenants.models`, in the public
schema.
"""
