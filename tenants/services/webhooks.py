"""The shared WhatsApp webhook: signature check, durable raw store, routing and replay.

Flow (reference §15): verify the signature over the raw bytes -> store the body once (its SHA-256
dedupes Meta's redeliveries) -> answer 200 -> (Celery, public schema) split the event into one
WebhookChange per `entry[].changes[]` and route each to the organization that owns its number ->
(Celery, tenant schema) apply the change (`whatsapp.services.inbound`).

Every step is idempotent: the raw store is an upsert on the body hash, changes are unique per
(event, entry, change) and their processing locks the change row and commits the tenant's writes
and the change's PROCESSED state in one transaction. So any step may be re-run after a crash.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django_tenants.utils import schema_context

from tenants.models import Organization, PhoneNumber, RawWebhookEvent, WebhookChange

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "HTTP_X_HUB_SIGNATURE_256"
# Request headers kept beside the body (for support and replay forensics); never credentials.
KEPT_HEADERS = {
    "CONTENT_TYPE": "Content-Type",
    "CONTENT_LENGTH": "Content-Length",
    SIGNATURE_HEADER: "X-Hub-Signature-256",
    "HTTP_USER_AGENT": "User-Agent",
    "HTTP_X_FORWARDED_FOR": "X-Forwarded-For",
    "REMOTE_ADDR": "Remote-Addr",
}
# The `field` whose changes we apply; every other field is stored and marked processed.
MESSAGES_FIELD = "messages"


# --- Verification (GET) and signature (POST) ----------------------------------------------------
def verify_subscription(*, mode: str | None, token: str | None) -> bool:
    """True for Meta's `hub.mode=subscribe` with our verify token (constant-time, §2)."""
    expected = settings.WHATSAPP_VERIFY_TOKEN
    if mode != "subscribe" or not token or not expected:
        return False
    return hmac.compare_digest(token.encode(), expected.encode())


def signature_valid(*, body: bytes, header: str | None, secret: str | None = None) -> bool:
    """True when `header` is `sha256=<hex HMAC-SHA256 of body keyed with the app secret>` (§3)."""
    secret = settings.WHATSAPP_APP_SECRET if secret is None else secret
    if not header or not secret:
        return False
    prefix, _, received = header.strip().partition("=")
    if prefix.lower() != "sha256" or not received:
        return False
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), received.strip().lower().encode())


def sign_body(body: bytes, secret: str | None = None) -> str:
    """The `X-Hub-Signature-256` value Meta would send for `body` (tests and benchmarks)."""
    secret = settings.WHATSAPP_APP_SECRET if secret is None else secret
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


# --- Durable raw store ----------------------------------------------------------------------
@dataclass(frozen=True)
class StoredEvent:
    id: int
    created: bool
    state: str


def _kept_headers(meta: dict[str, Any]) -> dict[str, str]:
    return {name: str(meta[key])[:500] for key, name in KEPT_HEADERS.items() if meta.get(key)}


def raw_event_store(*, body: bytes, meta: dict[str, Any]) -> StoredEvent:
    """Store a signed POST durably, once per distinct body; enqueue its routing after commit.

    A redelivered identical body increments `deliveries` on the existing row (one atomic
    INSERT ... ON CONFLICT, no check-then-insert race). A body that is not JSON is kept as
    MALFORMED and never routed. Needs no tenant data: it writes one public-schema row.
    """
    digest = hashlib.sha256(body).hexdigest()
    state = RawWebhookEvent.State.RECEIVED
    error = ""
    try:
        json.loads(body)
    except ValueError as exc:  # UnicodeDecodeError is a ValueError too
        state = RawWebhookEvent.State.MALFORMED
        error = f"invalid JSON: {exc}"[:500]
    table = connection.ops.quote_name(RawWebhookEvent._meta.db_table)
    with transaction.atomic():
        with connection.cursor() as cursor:
            # `xmax = 0` is true only for a freshly inserted row (PostgreSQL idiom).
            cursor.execute(
                f"INSERT INTO public.{table} "  # noqa: S608 - table name from model meta
                "(body, body_sha256, headers, state, error, received_at, deliveries) "
                "VALUES (%s, %s, %s, %s, %s, now(), 1) "
                "ON CONFLICT (body_sha256) DO UPDATE SET deliveries = "
                f"{table}.deliveries + 1 "
                "RETURNING id, (xmax = 0), state",
                [body, digest, json.dumps(_kept_headers(meta)), state, error],
            )
            event_id, created, current_state = cursor.fetchone()
        if current_state == RawWebhookEvent.State.RECEIVED:
            # Also on a redelivery: if the first enqueue was lost (broker down, crash after
            # commit) Meta's retry routes it; routing is idempotent. `robust`: the event is
            # stored, so a broker failure must not turn the acknowledgement into a 500.
            transaction.on_commit(lambda: _enqueue_route(event_id), robust=True)
    logger.info(
        "webhook stored: event_id=%s created=%s state=%s bytes=%d",
        event_id,
        created,
        current_state,
        len(body),
    )
    return StoredEvent(id=event_id, created=created, state=current_state)


def _enqueue_route(event_id: int) -> None:
    from tenants.tasks.webhooks import webhook_event_route_task

    with schema_context(settings.PUBLIC_SCHEMA_NAME):
        webhook_event_route_task.delay(event_id)


# --- Routing ----------------------------------------------------------------------------------
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


def _state_for(spec: ChangeSpec, organization: Organization | None) -> tuple[str, str]:
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
                state, error = _state_for(spec, organization)
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


# --- Processing (in the tenant) -------------------------------------------------------------
class WrongTenantError(RuntimeError):
    """A change was about to be applied in a schema other than its organization's."""


def webhook_change_process(*, change_id: int, apply: Callable[[WebhookChange], str]) -> str | None:
    """Apply one change in the current tenant schema; returns the outcome, None if skipped.

    `apply` returns notes (items it had to skip), kept in the processed change's `error`.

    The change row is locked and the tenant's writes commit together with its PROCESSED state,
    so a crash leaves either nothing or everything, and a concurrent duplicate waits and skips.
    """
    with transaction.atomic():
        change = (
            WebhookChange.objects.select_for_update(of=("self",))
            .select_related("organization")
            .filter(pk=change_id)
            .first()
        )
        if change is None:
            return None
        if change.state not in (WebhookChange.State.PENDING, WebhookChange.State.FAILED):
            return None
        organization = change.organization
        if organization is None or organization.schema_name != connection.schema_name:
            raise WrongTenantError(
                f"change {change_id} belongs to "
                f"{organization.schema_name if organization else 'nobody'}, "
                f"not to schema {connection.schema_name}"
            )
        if not organization.is_active:
            change.state = WebhookChange.State.HELD
            change.error = f"organization {organization.slug} is {organization.status}"
            change.save(update_fields=["state", "error"])
            return "held"
        change.attempts += 1
        notes = apply(change)
        change.state = WebhookChange.State.PROCESSED
        change.error = notes[:2000]
        change.processed_at = timezone.now()
        change.save(update_fields=["state", "error", "attempts", "processed_at"])
    return "processed"


def webhook_change_mark_failed(*, change_id: int, error: str) -> int:
    """Record a failed attempt (in its own transaction); returns the attempts made so far."""
    with transaction.atomic():
        change = WebhookChange.objects.select_for_update().filter(pk=change_id).first()
        if change is None or change.state == WebhookChange.State.PROCESSED:
            return 0
        change.attempts += 1
        change.state = WebhookChange.State.FAILED
        change.error = error[:2000]
        change.save(update_fields=["state", "error", "attempts"])
        return change.attempts


# --- Replay ------------------------------------------------------------------------------------
REPLAYABLE_STATES = (
    WebhookChange.State.UNROUTABLE,
    WebhookChange.State.FAILED,
    WebhookChange.State.HELD,
    WebhookChange.State.PENDING,
)


@dataclass
class ReplayResult:
    events_routed: int = 0
    enqueued: int = 0
    still_unroutable: int = 0
    still_held: int = 0


def webhook_replay(
    *, states: Iterable[str] = REPLAYABLE_STATES, event_id: int | None = None
) -> ReplayResult:
    """Re-route and re-enqueue changes in `states` (optionally of one event).

    Unroutable and held changes are routed again (the number may be connected now, the
    organization reactivated); failed and pending ones are enqueued again with their attempts
    reset. Events still RECEIVED (their routing task was lost) are routed first.
    """
    result = ReplayResult()
    events = RawWebhookEvent.objects.filter(state=RawWebhookEvent.State.RECEIVED)
    if event_id is not None:
        events = events.filter(pk=event_id)
    for pk in events.values_list("pk", flat=True):
        webhook_event_route(event_id=pk)
        result.events_routed += 1
    changes = WebhookChange.objects.filter(state__in=list(states))
    if event_id is not None:
        changes = changes.filter(event_id=event_id)
    targets: list[tuple[int, str]] = []
    for change_id in changes.order_by("pk").values_list("pk", flat=True):
        with transaction.atomic():
            change = (
                WebhookChange.objects.select_for_update()
                .filter(pk=change_id, state__in=list(states))
                .first()
            )
            if change is None:
                continue
            organization = organization_for_change(
                phone_number_id=change.phone_number_id, waba_id=change.waba_id
            )
            spec = ChangeSpec(0, 0, change.field, change.phone_number_id, change.waba_id, {})
            state, error = _state_for(spec, organization)
            change.organization = organization
            change.state = state
            change.error = error
            change.attempts = 0
            if state == WebhookChange.State.PROCESSED:
                change.processed_at = timezone.now()
            change.save()
            if state == WebhookChange.State.PENDING:
                targets.append((change.pk, organization.schema_name))
            elif state == WebhookChange.State.UNROUTABLE:
                result.still_unroutable += 1
            elif state == WebhookChange.State.HELD:
                result.still_held += 1
        logger.info(
            "webhook change replayed: event_id=%s change_id=%s org=%s state=%s",
            change.event_id,
            change.pk,
            organization.slug if organization else "-",
            change.state,
        )
    webhook_changes_enqueue(targets)
    result.enqueued = len(targets)
    return result


def webhook_sweep(*, older_than: timedelta) -> ReplayResult:
    """Re-drive work whose task was lost: events still RECEIVED and changes still PENDING after
    `older_than` (the broker was down when they were acknowledged, or a worker died holding
    them). Enqueueing twice is harmless: routing and processing are idempotent and locked."""
    result = ReplayResult()
    cutoff = timezone.now() - older_than
    stale_events = RawWebhookEvent.objects.filter(
        state=RawWebhookEvent.State.RECEIVED, received_at__lt=cutoff
    )
    for pk in stale_events.values_list("pk", flat=True)[:1000]:
        webhook_event_route(event_id=pk)
        result.events_routed += 1
    stale_changes = (
        WebhookChange.objects.filter(state=WebhookChange.State.PENDING, created_at__lt=cutoff)
        .exclude(organization=None)
        .values_list("pk", "organization__schema_name")[:1000]
    )
    targets = list(stale_changes)
    webhook_changes_enqueue(targets)
    result.enqueued = len(targets)
    if result.events_routed or result.enqueued:
        logger.warning(
            "webhook sweep re-drove stale work: events=%d changes=%d",
            result.events_routed,
            result.enqueued,
        )
    return result
