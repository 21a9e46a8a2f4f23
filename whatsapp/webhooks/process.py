"""The worker's batch: claim stored events, split and route them, apply their changes per tenant.

The raw event table is the queue (a transactional outbox). One call of `webhook_batch_process`
is one transaction:

1. claim up to `batch_size` RECEIVED events (`FOR UPDATE SKIP LOCKED`: workers never wait on
   each other, and a killed worker's claims are released by its rolled-back transaction);
2. split them into WebhookChange rows (one bulk INSERT) routed by `metadata.phone_number_id`,
   WABA id as fallback, with ONE query for the routing table of the whole batch;
3. claim due retries (PENDING/FAILED changes whose `next_attempt_at` has passed);
4. group the changes by tenant and `field`, switch schema once per tenant, call the field's
   handler (settings `WHATSAPP_WEBHOOK_HANDLERS`, contract in `handlers.py`) in a savepoint; the
   changes applied are marked PROCESSED by one UPDATE for the whole batch, in the same
   transaction. If the handler raises, each change is applied alone in its
   own savepoint; one that still fails is recorded FAILED with its error, its attempts and a
   `next_attempt_at` (backoff); after `WHATSAPP_WEBHOOK_MAX_ATTEMPTS` it waits for a replay.

Fields without a handler end NO_HANDLER (replayable). An event whose splitting raises is marked
with its error and attempts and claimed again only after a backoff, then left FAILED.
Webhook fields: https://developers.facebook.com/docs/graph-api/webhooks/reference/whatsapp-business-account/
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.module_loading import import_string
from django_tenants.utils import schema_context

from saas_platform.metrics import ingest_lags_observe
from tenants.models import RawWebhookEvent, WebhookChange
from whatsapp.graph.retry import RetryPolicy
from whatsapp.graph.sanitize import text_clean
from whatsapp.webhooks.handlers import ChangeHandler, ChangeInput
from whatsapp.webhooks.route import ChangeSpec, Owner, RoutingTable, split_changes

logger = logging.getLogger(__name__)

EVENTS = RawWebhookEvent._meta.db_table
CHANGES = WebhookChange._meta.db_table


class WrongTenantError(RuntimeError):
    """A change was about to be applied in a schema other than its organization's."""


@dataclass
class BatchResult:
    events: int = 0
    changes: int = 0
    processed: int = 0
    failed: int = 0
    no_handler: int = 0
    held: int = 0
    unroutable: int = 0
    failed_event_ids: set[int] = field(default_factory=set)
    tenants: set[str] = field(default_factory=set)
    # The claimed events' id range, for the batch's log line (support finds an event by id).
    first_event_id: int | None = None
    last_event_id: int | None = None

    @property
    def claimed(self) -> int:
        return self.events + self.changes


def retry_policy() -> RetryPolicy:
    """The backoff between attempts at a change or an event (settings read at call time)."""
    return RetryPolicy(
        max_attempts=settings.WHATSAPP_WEBHOOK_MAX_ATTEMPTS,
        base_delay=settings.WHATSAPP_WEBHOOK_RETRY_BASE_DELAY,
        max_delay=settings.WHATSAPP_WEBHOOK_RETRY_MAX_DELAY,
    )


def retry_delay(policy: RetryPolicy, attempts: int, error: BaseException) -> float:
    """Seconds until the next attempt: the policy's jittered backoff, but at least half of the
    un-jittered one, so a failing item never comes straight back (no hot loop)."""
    return max(policy.delay_for(attempts, error), policy.backoff(attempts) / 2)


def handler_for(field_name: str) -> ChangeHandler | None:
    """The handler registered for a webhook `field` (resolved now, not at import), or None."""
    path = settings.WHATSAPP_WEBHOOK_HANDLERS.get(field_name)
    return import_string(path) if path else None


@dataclass
class _Claimed:
    """A change to apply in this batch, with its owner."""

    change_id: int
    field: str
    phone_number_id: str
    waba_id: str
    value: dict
    attempts: int
    owner: Owner

    def as_input(self) -> ChangeInput:
        return ChangeInput(
            change_id=self.change_id,
            field=self.field,
            phone_number_id=self.phone_number_id,
            waba_id=self.waba_id,
            value=self.value,
        )


_Split = list[tuple[int, list[ChangeSpec], list[str]]]  # (event id, its changes, shape problems)


def webhook_batch_process(*, batch_size: int = 100) -> BatchResult:
    """Claim, route and apply one batch (see the module docstring); returns what it did."""
    result = BatchResult()
    connection.set_schema_to_public()
    with transaction.atomic():
        fresh = _claim_and_route_events(batch_size=batch_size, result=result)
        claimed = fresh + _claim_due_changes(
            limit=batch_size, exclude_ids=[c.change_id for c in fresh]
        )
        result.changes = len(claimed)
        try:
            _apply(claimed, result)
        finally:
            connection.set_schema_to_public()
    return result


# --- 1-2: claim events, split, route, insert changes ----------------------------------------
def _claim_and_route_events(*, batch_size: int, result: BatchResult) -> list[_Claimed]:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id, body, attempts FROM public.{EVENTS} "  # noqa: S608 - model table names
            "WHERE state = 'received' AND (next_attempt_at IS NULL OR next_attempt_at <= now()) "
            "ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED",
            [batch_size],
        )
        events = cursor.fetchall()
    result.events = len(events)
    if not events:
        return []
    result.first_event_id, result.last_event_id = events[0][0], events[-1][0]
    split: _Split = []
    attempts_of = {event_id: attempts for event_id, _, attempts in events}
    for event_id, body, attempts in events:
        try:
            document = json.loads(bytes(body))
        except (ValueError, RecursionError) as exc:
            # Not JSON (UnicodeDecodeError is a ValueError too), or nested deeper than the
            # parser takes: the same bytes will never parse, so kept MALFORMED, not retried.
            _event_malformed(event_id=event_id, error=exc, result=result)
            continue
        try:
            specs, problems = split_changes(document)
        except Exception as exc:  # anything about one event stays with that event
            _event_failed(event_id=event_id, attempts=attempts, error=exc, result=result)
            continue
        split.append((event_id, specs, problems))
    table = RoutingTable(
        phone_number_ids=(s.phone_number_id for _, specs, _ in split for s in specs),
        waba_ids=(s.waba_id for _, specs, _ in split for s in specs),
    )
    rows: list[WebhookChange] = []
    owners: list[Owner | None] = []
    now = timezone.now()
    for event_id, specs, _ in split:
        for spec in specs:
            owner = table.owner(phone_number_id=spec.phone_number_id, waba_id=spec.waba_id)
            if owner is None:
                state, error = WebhookChange.State.UNROUTABLE, "no organization owns this number"
                result.unroutable += 1
            elif not owner.is_active:
                state, error = (
                    WebhookChange.State.HELD,
                    f"organization {owner.slug} is {owner.status}",
                )
                result.held += 1
            else:
                state, error = WebhookChange.State.PENDING, ""
            rows.append(
                WebhookChange(
                    event_id=event_id,
                    entry_index=spec.entry_index,
                    change_index=spec.change_index,
                    field=spec.field,
                    phone_number_id=spec.phone_number_id,
                    waba_id=spec.waba_id,
                    organization_id=owner.organization_id if owner else None,
                    value=spec.value,
                    state=state,
                    error=error,
                    created_at=now,
                )
            )
            owners.append(owner)
    rows, owners = _insert_changes(rows, owners, split, attempts_of, result)
    _mark_events_routed(split, failed=result.failed_event_ids)
    return [
        _Claimed(row.pk, row.field, row.phone_number_id, row.waba_id, row.value, 0, owner)
        for row, owner in zip(rows, owners, strict=True)
        if row.state == WebhookChange.State.PENDING and owner is not None
    ]


def _insert_changes(
    rows: list[WebhookChange],
    owners: list[Owner | None],
    split: _Split,
    attempts_of: dict[int, int],
    result: BatchResult,
) -> tuple[list[WebhookChange], list[Owner | None]]:
    """One bulk INSERT; if it fails, insert event by event so one event cannot sink the rest
    (its rows are dropped and the event is marked failed, with a backoff)."""
    if not rows:
        return rows, owners
    try:
        with transaction.atomic():
            WebhookChange.objects.bulk_create(rows)
        return rows, owners
    except Exception:
        logger.exception("webhook batch insert failed; inserting event by event")
    kept_rows, kept_owners = [], []
    for event_id, _, _ in split:
        mine = [(r, o) for r, o in zip(rows, owners, strict=True) if r.event_id == event_id]
        if not mine:
            continue
        for row, _ in mine:
            row.pk = None
        try:
            with transaction.atomic():
                WebhookChange.objects.bulk_create([r for r, _ in mine])
        except Exception as exc:
            _event_failed(
                event_id=event_id, attempts=attempts_of[event_id], error=exc, result=result
            )
            continue
        kept_rows += [r for r, _ in mine]
        kept_owners += [o for _, o in mine]
    return kept_rows, kept_owners


def _event_failed(*, event_id: int, attempts: int, error: BaseException, result: BatchResult):
    """Record a routing failure on the event; it is claimed again only after a backoff."""
    policy = retry_policy()
    attempts += 1
    final = attempts >= policy.max_attempts
    message = text_clean(f"{type(error).__name__}: {error}")[:2000]
    RawWebhookEvent.objects.filter(pk=event_id).update(
        state=RawWebhookEvent.State.FAILED if final else RawWebhookEvent.State.RECEIVED,
        error=message,
        attempts=attempts,
        next_attempt_at=None
        if final
        else timezone.now() + timedelta(seconds=retry_delay(policy, attempts, error)),
    )
    result.failed_event_ids.add(event_id)
    logger.warning(
        "webhook event routing failed: event_id=%s attempt=%s final=%s error=%s",
        event_id,
        attempts,
        final,
        type(error).__name__,
    )


def _event_malformed(*, event_id: int, error: BaseException, result: BatchResult) -> None:
    """The body is not JSON: MALFORMED with the parser's error, never claimed again."""
    RawWebhookEvent.objects.filter(pk=event_id).update(
        state=RawWebhookEvent.State.MALFORMED,
        error=text_clean(f"invalid JSON: {type(error).__name__}: {error}")[:500],
        next_attempt_at=None,
    )
    result.failed_event_ids.add(event_id)
    logger.warning("webhook event malformed: event_id=%s error=%s", event_id, type(error).__name__)


def _mark_events_routed(split: _Split, *, failed: set[int]) -> None:
    """ROUTED (or MALFORMED when nothing in it was usable); one UPDATE for the clean ones."""
    clean: list[int] = []
    for event_id, specs, problems in split:
        if event_id in failed:
            continue
        if not problems:
            clean.append(event_id)
            continue
        logger.warning(
            "webhook event shape problems: event_id=%s: %s", event_id, "; ".join(problems)
        )
        RawWebhookEvent.objects.filter(pk=event_id).update(
            state=RawWebhookEvent.State.ROUTED if specs else RawWebhookEvent.State.MALFORMED,
            error=text_clean("; ".join(problems))[:2000],
            next_attempt_at=None,
        )
    if clean:
        RawWebhookEvent.objects.filter(pk__in=clean).update(
            state=RawWebhookEvent.State.ROUTED, error="", next_attempt_at=None
        )


# --- 3: due retries ---------------------------------------------------------------------------
def _claim_due_changes(*, limit: int, exclude_ids: Sequence[int]) -> list[_Claimed]:
    due = (
        WebhookChange.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("organization")
        .filter(
            state__in=[WebhookChange.State.PENDING, WebhookChange.State.FAILED],
            attempts__lt=settings.WHATSAPP_WEBHOOK_MAX_ATTEMPTS,
            organization__isnull=False,
        )
        .exclude(next_attempt_at__gt=timezone.now())
        .exclude(pk__in=list(exclude_ids))
        .order_by("pk")[:limit]
    )
    return [
        _Claimed(
            c.pk,
            c.field,
            c.phone_number_id,
            c.waba_id,
            c.value,
            c.attempts,
            Owner(
                c.organization_id,
                c.organization.schema_name,
                c.organization.slug,
                c.organization.status,
            ),
        )
        for c in due
    ]


# --- 4: apply per tenant and field --------------------------------------------------------------
def _apply(claimed: list[_Claimed], result: BatchResult) -> None:
    groups: dict[str, dict[str, list[_Claimed]]] = defaultdict(lambda: defaultdict(list))
    held: list[_Claimed] = []
    for change in claimed:
        if not change.owner.is_active:
            held.append(change)
        else:
            groups[change.owner.schema_name][change.field].append(change)
    for change in held:
        WebhookChange.objects.filter(pk=change.change_id).update(
            state=WebhookChange.State.HELD,
            error=f"organization {change.owner.slug} is {change.owner.status}",
        )
        result.held += 1
    no_handler: list[int] = []
    failures: list[tuple[_Claimed, BaseException]] = []
    done: list[tuple[_Claimed, object]] = []  # marked PROCESSED in one UPDATE, below
    for schema_name in sorted(groups):
        connection.set_schema(schema_name)
        result.tenants.add(schema_name)
        for field_name, changes in groups[schema_name].items():
            handler = handler_for(field_name)
            if handler is None:
                no_handler += [c.change_id for c in changes]
                continue
            failures += _apply_group(handler, changes, schema_name, result, done)
    _mark_processed(done)  # schema-qualified: no switch back to public needed first
    connection.set_schema_to_public()
    if no_handler:
        WebhookChange.objects.filter(pk__in=no_handler).update(
            state=WebhookChange.State.NO_HANDLER,
            error="no handler registered for this field",
            processed_at=timezone.now(),
            next_attempt_at=None,
        )
        result.no_handler += len(no_handler)
    for change, exc in failures:
        _change_failed(change, exc)
        result.failed += 1


def _apply_group(
    handler: ChangeHandler,
    changes: list[_Claimed],
    schema_name: str,
    result: BatchResult,
    done: list[tuple[_Claimed, object]],
) -> list[tuple[_Claimed, BaseException]]:
    """Apply one tenant's changes of one field: together, else one by one. Returns failures;
    adds the applied changes with their notes to `done` (marked PROCESSED in the same
    transaction, by one UPDATE for the whole batch)."""
    if connection.schema_name != schema_name:  # the grouping makes this impossible; cheap guard
        raise WrongTenantError(f"schema {connection.schema_name}, expected {schema_name}")
    try:
        queued = len(connection.run_on_commit)
        with transaction.atomic():
            notes = handler([c.as_input() for c in changes])
        done.extend(_with_notes(changes, notes))
        _on_commit_in_schema(queued, schema_name)
        result.processed += len(changes)
        return []
    except Exception as exc:
        if len(changes) == 1:
            return [(changes[0], exc)]
        logger.warning(
            "webhook handler failed on a batch of %d, applying one by one: schema=%s error=%s",
            len(changes),
            schema_name,
            type(exc).__name__,
        )
    failures = []
    for change in changes:
        try:
            queued = len(connection.run_on_commit)
            with transaction.atomic():
                notes = handler([change.as_input()])
            done.extend(_with_notes([change], notes))
            _on_commit_in_schema(queued, schema_name)
            result.processed += 1
        except Exception as exc:
            failures.append((change, exc))
    return failures


def _on_commit_in_schema(start: int, schema_name: str) -> None:
    """Make the on-commit callbacks a handler registered (from index `start`) run in its tenant's
    schema: they run after the batch commits, when the connection is back in `public`."""

    def bind(func):
        def run():
            with schema_context(schema_name):
                func()

        return run

    pending = connection.run_on_commit
    for index in range(start, len(pending)):
        savepoints, func, robust = pending[index]
        pending[index] = (savepoints, bind(func), robust)


def _with_notes(changes: list[_Claimed], notes: object) -> list[tuple[_Claimed, object]]:
    notes = notes if isinstance(notes, dict) else {}
    return [(c, notes.get(c.change_id)) for c in changes]


def _mark_processed(done: list[tuple[_Claimed, object]]) -> None:
    """One UPDATE: every change PROCESSED with its notes (a handler's missing entry is "")."""
    if not done:
        return
    ids = [c.change_id for c, _ in done]
    texts = [text_clean(str(note or ""))[:2000] for _, note in done]
    with connection.cursor() as cursor:
        # Returns each change's ingest lag: its event's acknowledgement to now.
        cursor.execute(
            f"UPDATE public.{CHANGES} AS c SET state = 'processed', error = v.notes, "  # noqa: S608
            "attempts = c.attempts + 1, processed_at = now(), next_attempt_at = NULL "
            "FROM (SELECT unnest(%s::bigint[]) AS id, unnest(%s::text[]) AS notes) AS v, "
            f"public.{EVENTS} AS e WHERE c.id = v.id AND e.id = c.event_id "
            "RETURNING extract(epoch FROM clock_timestamp() - e.received_at)",
            [ids, texts],
        )
        ingest_lags_observe(lag for (lag,) in cursor.fetchall())


def _change_failed(change: _Claimed, exc: BaseException) -> None:
    policy = retry_policy()
    attempts = change.attempts + 1
    final = attempts >= policy.max_attempts
    WebhookChange.objects.filter(pk=change.change_id).update(
        state=WebhookChange.State.FAILED,
        error=text_clean(f"{type(exc).__name__}: {exc}")[:2000],
        attempts=F("attempts") + 1,
        next_attempt_at=None
        if final
        else timezone.now() + timedelta(seconds=retry_delay(policy, attempts, exc)),
    )
    log = logger.error if final else logger.warning
    log(
        "webhook change failed: change_id=%s attempt=%s final=%s error=%s",
        change.change_id,
        attempts,
        final,
        type(exc).__name__,
    )
