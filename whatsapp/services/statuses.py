"""Applying status receipts (`value.statuses[]`) to outgoing messages.
Receipts: https://developers.facebook.com/documentation/business-messaging/whatsapp/webhooks/reference/messages/status/

Guarantees: a message's status only moves up `WhatsAppMessage.STATUS_RANK` (a late `delivered`
never undoes `read`); every receipt's timestamp is kept in its own column whatever order they
come in (the earliest wins on a duplicate); `failed` keeps Meta's error code, title and message.
So any permutation of the same receipts, applied any number of times, gives the same row.

Receipts are matched by wamid and, when our row does not know its wamid yet (the send call timed
out, or its answer is not committed yet), by `biz_opaque_callback_data` == `client_reference`,
which the outbound pipeline sends precisely for this; the row then learns its wamid.

A receipt whose row cannot be found at all is *parked* as a PendingStatus rather than failing
the whole webhook change and retrying it: the change's other messages and receipts are applied
at once, retries of the change would only re-do finished work, and a receipt for a message we
never sent (e.g. sent from Meta's dashboard) should not turn into a failed change. Parked
receipts are applied when the row shows up: by `pending_statuses_apply` (called here whenever a
row gains its wamid, and available to the outbound pipeline after it stores a wamid) and by a
reconcile task with backoff (whatsapp.tasks.inbound) that needs no one's cooperation.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone
from psycopg.types.json import Jsonb

from billing_stub.services.metering import PricedMessage, meta_pricing_record
from whatsapp.graph.facts import timestamp_parse
from whatsapp.graph.updates import StatusUpdate
from whatsapp.models import PendingStatus, WhatsAppMessage
from whatsapp.services.jobs import pending_status_reconcile_enqueue

logger = logging.getLogger(__name__)

Status = WhatsAppMessage.Status
# Which timestamp column each receipt fills (`accepted_at` is our send's 200, not a receipt).
TIMESTAMP_FIELDS = {
    Status.SENT: "sent_at",
    Status.DELIVERED: "delivered_at",
    Status.READ: "read_at",
    Status.PLAYED: "played_at",
    Status.FAILED: "failed_at",
}
RECEIPT_STATUSES = frozenset(
    {Status.SENT, Status.DELIVERED, Status.READ, Status.PLAYED, Status.FAILED}
)
# The columns of the batch path's rows: pk, wamid, direction, status, these, recipient, pricing.
TIMESTAMP_COLUMNS = ("sent_at", "delivered_at", "read_at", "played_at", "failed_at")
_ROW_INDEX = {column: 4 + i for i, column in enumerate(TIMESTAMP_COLUMNS)}


def _parse_ts(value: Any) -> datetime | None:
    return timestamp_parse(value)


def _reference(callback_data: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(callback_data.strip())
    except (ValueError, AttributeError):
        return None


def status_apply(*, status: dict[str, Any]) -> str:
    """Apply one receipt; returns `applied`, `unchanged`, `parked` or `ignored`."""
    wamid = str(status.get("id") or "").strip()[:255]
    value = str(status.get("status") or "").strip().lower()
    callback_data = str(status.get("biz_opaque_callback_data") or "")[:512]
    if not wamid or value not in RECEIPT_STATUSES:
        # e.g. the old On-Premises `deleted`: kept in the raw event, nothing to apply.
        logger.info("status ignored: wamid=%s status=%s", wamid or "-", value or "-")
        return "ignored"
    timestamp = _parse_ts(status.get("timestamp")) or timezone.now()
    with transaction.atomic():
        message = _find_message(wamid=wamid, callback_data=callback_data)
        if message is None:
            _park(wamid=wamid, value=value, callback_data=callback_data, ts=timestamp, raw=status)
            return "parked"
        changed = _apply_to_row(message, value=value, timestamp=timestamp, raw=status)
    return "applied" if changed else "unchanged"


def _find_message(*, wamid: str, callback_data: str) -> WhatsAppMessage | None:
    """The locked outgoing row for a receipt; links the wamid when found by reference."""
    message = WhatsAppMessage.objects.select_for_update().filter(wamid=wamid).first()
    if message is not None:
        return message
    reference = _reference(callback_data) if callback_data else None
    if reference is None:
        return None
    message = (
        WhatsAppMessage.objects.select_for_update()
        .filter(client_reference=reference, direction=WhatsAppMessage.Direction.OUTGOING)
        .first()
    )
    if message is None:
        return None
    if not message.wamid:
        try:
            with transaction.atomic():
                WhatsAppMessage.objects.filter(pk=message.pk).update(wamid=wamid)
        except IntegrityError:
            logger.warning("status wamid already on another row: wamid=%s", wamid)
            return None
        message.wamid = wamid
        logger.info("outgoing message linked to its wamid by reference: message=%s", message.pk)
        _apply_parked(message)
    elif message.wamid != wamid:
        logger.warning("status reference matches a message with another wamid: wamid=%s", wamid)
        return None
    return message


def _apply_to_row(
    message: WhatsAppMessage, *, value: str, timestamp: datetime, raw: dict[str, Any]
) -> bool:
    if message.direction != WhatsAppMessage.Direction.OUTGOING:
        return False
    update: dict[str, Any] = {}
    column = TIMESTAMP_FIELDS.get(value)
    if column:
        current = getattr(message, column)
        if current is None or timestamp < current:
            update[column] = timestamp
    rank = WhatsAppMessage.STATUS_RANK
    if rank.get(value, -1) > rank.get(message.status, -1):
        update["status"] = value
    # What Meta charges (per-message pricing since July 2025) rides on receipts; billing reads
    # it from here (https://developers.facebook.com/documentation/business-messaging/whatsapp/pricing/).
    # Later receipts may add or correct fields: merge them.
    billing = {k: raw[k] for k in ("pricing", "conversation") if isinstance(raw.get(k), dict)}
    if billing and {**message.pricing, **billing} != message.pricing:
        update["pricing"] = {**message.pricing, **billing}
        if _first_pricing(message.pricing, update["pricing"]):
            _meter_priced([(message.recipient, update["pricing"], timestamp)])
    if value == Status.FAILED:
        errors = raw.get("errors")
        error = (
            errors[0] if isinstance(errors, list) and errors and isinstance(errors[0], dict) else {}
        )
        details = error.get("error_data") if isinstance(error.get("error_data"), dict) else {}
        try:
            code = int(error.get("code")) if error.get("code") is not None else None
        except (TypeError, ValueError):
            code = None
        update["error_code"] = code
        update["error_title"] = str(error.get("title") or "")[:255]
        update["error_message"] = str(details.get("details") or error.get("message") or "")
        update["failure_reason"] = _failure_policy(message, code)
        if all(getattr(message, k) == v for k, v in update.items()):
            update = {}
    if not update:
        return False
    for key, val in update.items():
        setattr(message, key, val)
    message.save(update_fields=[*update, "updated_at"])
    logger.info("status applied: wamid=%s status=%s now=%s", message.wamid, value, message.status)
    return True


def _first_pricing(before: dict[str, Any], after: dict[str, Any]) -> bool:
    """The row gains its first `pricing` block now: the moment Meta's charge is metered."""
    return not isinstance(before.get("pricing"), dict) and isinstance(after.get("pricing"), dict)


def _meter_priced(priced: Sequence[tuple[str, dict[str, Any], datetime]]) -> None:
    """Meter messages that just got their first pricing block (in this transaction, under the
    rows' locks: a receipt applied again, or another receipt of the same message, finds the
    block stored and is not counted again). `priced`: (recipient, row pricing, receipt time)."""
    meta_pricing_record(
        messages=[
            PricedMessage(
                recipient=recipient,
                category=str(pricing["pricing"].get("category") or ""),
                pricing_type=str(pricing["pricing"].get("type") or ""),
                at=at,
            )
            for recipient, pricing, at in priced
        ]
    )


def _failure_policy(message: WhatsAppMessage, code: int | None) -> str:
    """The failure_reason of a `failed` receipt, by the senders' one error-policy table; a
    131050 also marks the contact opted out of marketing, as the synchronous answer does."""
    from whatsapp.services.outbound.policy import (
        Action,
        contact_opt_out_marketing,
        error_rule_for_code,
    )

    rule = error_rule_for_code(code)
    if rule.action is Action.OPT_OUT:
        contact_opt_out_marketing(contact_id=message.contact_id, source=f"meta_{code}")
    # A receipt is final (never backwards): a code we would retry synchronously still ends the
    # message here, with its specific reason when the table has one.
    if rule.action in (Action.RETRY, Action.HALT):
        return "meta_error"
    return rule.reason


def _park(*, wamid: str, value: str, callback_data: str, ts: datetime, raw: dict) -> None:
    created = PendingStatus.objects.bulk_create(
        [
            PendingStatus(
                wamid=wamid, status=value, callback_data=callback_data, timestamp=ts, payload=raw
            )
        ],
        ignore_conflicts=True,
    )
    logger.info("status parked (message not visible yet): wamid=%s status=%s", wamid, value)
    if created:
        pending_status_reconcile_enqueue(wamid=wamid, attempt=1)


def _apply_parked(message: WhatsAppMessage) -> int:
    """Apply and delete the parked receipts of `message` (caller holds its row lock)."""
    match = Q(wamid=message.wamid) if message.wamid else Q(pk__in=[])
    if message.is_outgoing:
        match |= Q(callback_data=str(message.client_reference))
    parked = list(PendingStatus.objects.select_for_update().filter(match))
    for item in parked:
        _apply_to_row(message, value=item.status, timestamp=item.timestamp, raw=item.payload)
    if parked:
        PendingStatus.objects.filter(pk__in=[p.pk for p in parked]).delete()
        logger.info("parked statuses applied: wamid=%s count=%d", message.wamid, len(parked))
    return len(parked)


def pending_statuses_apply(*, message_id: int) -> int:
    """Apply the parked receipts of one message (e.g. right after the outbound pipeline stored
    its wamid). Returns how many were applied."""
    with transaction.atomic():
        message = WhatsAppMessage.objects.select_for_update().filter(pk=message_id).first()
        if message is None:
            return 0
        return _apply_parked(message)


def pending_statuses_reconcile(*, wamid: str) -> bool:
    """Try the parked receipts for `wamid` again; True when none is left parked."""
    with transaction.atomic():
        parked = list(PendingStatus.objects.filter(wamid=wamid).order_by("pk"))
        if not parked:
            return True
        message = _find_message(wamid=wamid, callback_data=parked[0].callback_data)
        if message is None:
            PendingStatus.objects.filter(wamid=wamid).update(attempts=parked[0].attempts + 1)
            return False
        _apply_parked(message)
    return True


def status_update_apply(*, update: StatusUpdate) -> str:
    """Apply one parsed receipt (whatsapp.graph.updates); its `raw` is already cleaned of what
    PostgreSQL refuses. Same outcomes as `status_apply`."""
    return status_apply(status=update.raw)


def statuses_apply_set(*, updates: Sequence[StatusUpdate]) -> list[str | None]:
    """Apply a batch of receipts in a few statements; the same outcome as `status_apply` on each.

    One `SELECT ... FOR UPDATE` locks the batch's messages (in id order: two batches never
    deadlock), the new state of each row is computed from all of its receipts (status only up
    `STATUS_RANK`, the earliest timestamp per column, pricing merged), and one `UPDATE ... FROM
    unnest(...)` writes the rows that changed. Receipts for no stored row are parked in one
    INSERT. Returns each receipt's outcome, in order (`applied`, `unchanged`, `parked`,
    `ignored`), or None for a receipt left to `status_update_apply` (call it one by one):
    `failed` receipts (error fields, the error-policy table) and unknown wamids that carry a
    callback reference (the row may be found by it). Call inside a transaction.
    Receipts: https://developers.facebook.com/documentation/business-messaging/whatsapp/webhooks/reference/messages/status/
    """
    outcomes: list[str | None] = [None] * len(updates)
    mine: list[tuple[int, str, str, datetime, StatusUpdate]] = []
    for index, update in enumerate(updates):
        raw = update.raw
        wamid = str(raw.get("id") or "").strip()[:255]
        value = str(raw.get("status") or "").strip().lower()
        if not wamid or value not in RECEIPT_STATUSES:
            outcomes[index] = "ignored"
        elif value != Status.FAILED:
            timestamp = _parse_ts(raw.get("timestamp")) or timezone.now()
            mine.append((index, wamid, value, timestamp, update))
    if not mine:
        return outcomes
    rows = {
        row[1]: list(row)
        for row in WhatsAppMessage.objects.select_for_update()
        .filter(wamid__in=sorted({wamid for _, wamid, *_ in mine}))
        .order_by("pk")
        .values_list(
            "pk", "wamid", "direction", "status", *TIMESTAMP_COLUMNS, "recipient", "pricing"
        )
    }
    changed: dict[str, list[Any]] = {}
    priced: list[tuple[str, dict[str, Any], datetime]] = []
    parked: list[PendingStatus] = []
    rank = WhatsAppMessage.STATUS_RANK
    for index, wamid, value, timestamp, update in mine:
        row = rows.get(wamid)
        if row is None:
            if _reference(str(update.raw.get("biz_opaque_callback_data") or "")) is not None:
                continue  # the row may be found by its reference: status_update_apply
            parked.append(
                PendingStatus(
                    wamid=wamid,
                    status=value,
                    callback_data=str(update.raw.get("biz_opaque_callback_data") or "")[:512],
                    timestamp=timestamp,
                    payload=update.raw,
                )
            )
            outcomes[index] = "parked"
            continue
        if row[2] != WhatsAppMessage.Direction.OUTGOING:
            outcomes[index] = "unchanged"
            continue
        before = list(row)
        column = _ROW_INDEX[TIMESTAMP_FIELDS[value]]
        if row[column] is None or timestamp < row[column]:
            row[column] = timestamp
        if rank.get(value, -1) > rank.get(row[3], -1):
            row[3] = value
        raw = update.raw
        billing = {k: raw[k] for k in ("pricing", "conversation") if isinstance(raw.get(k), dict)}
        if billing:
            row[-1] = {**row[-1], **billing}
            if _first_pricing(before[-1], row[-1]):
                priced.append((row[-2], row[-1], timestamp))
        if row != before:
            changed[wamid] = row
            outcomes[index] = "applied"
        else:
            outcomes[index] = "unchanged"
    if changed:
        values = list(changed.values())
        columns = ", ".join(f"{c} = v.{c}" for c in TIMESTAMP_COLUMNS)
        arrays = ", ".join(f"unnest(%s::timestamptz[]) AS {c}" for c in TIMESTAMP_COLUMNS)
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {WhatsAppMessage._meta.db_table} AS m SET status = v.status, "  # noqa: S608
                f"{columns}, pricing = v.pricing, updated_at = now() "
                f"FROM (SELECT unnest(%s::bigint[]) AS id, unnest(%s::text[]) AS status, "
                f"{arrays}, unnest(%s::jsonb[]) AS pricing) AS v WHERE m.id = v.id",
                [
                    [row[0] for row in values],
                    [row[3] for row in values],
                    *[[row[_ROW_INDEX[c]] for row in values] for c in TIMESTAMP_COLUMNS],
                    [Jsonb(row[-1]) for row in values],
                ],
            )
    _meter_priced(priced)
    if parked:
        PendingStatus.objects.bulk_create(parked, ignore_conflicts=True)
        for wamid in sorted({p.wamid for p in parked}):
            pending_status_reconcile_enqueue(wamid=wamid, attempt=1)
    return outcomes
