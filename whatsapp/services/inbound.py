"""Applying `messages` webhook changes inside the tenant: contacts, messages, statuses.

Runs in the organization's schema, inside the transaction of whoever processes the change (the
webhook gateway calls `messages_changes_apply`; the older per-change task calls
`inbound_change_apply`). Every write is idempotent (unique wamid, unique contact ids, status
ranks), so a redelivered or replayed change stores nothing twice.

Payloads are parsed at the edge (whatsapp.graph.updates): every string is already storable.
Isolation is per item: each message and each receipt is applied in its own savepoint; an item
the database still refuses is retried once in a minimal form (ids, sender, type, text), and set
aside with its error in the change's notes if even that fails. Its siblings are never affected.
Transient database errors (deadlock, lost connection) are not an item's fault: they propagate,
so the caller retries the change.

Edits and revokes (https://developers.facebook.com/documentation/business-messaging/whatsapp/webhooks/reference/messages)
are stored as their own rows (`context_wamid` = the original) and applied to the original by
recomputing from all of them, so the result does not depend on arrival order: one that arrives
before its original waits in its row and is applied when the original is stored.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import OperationalError, transaction
from django.utils import timezone

from billing_stub.services.metering import usage_record
from whatsapp.graph.facts import timestamp_parse
from whatsapp.graph.sanitize import text_clean
from whatsapp.graph.updates import (
    InboundMessage,
    MessagesUpdate,
    StatusUpdate,
    messages_update_parse,
)
from whatsapp.models import WhatsAppMedia, WhatsAppMessage
from whatsapp.services.contacts import contact_identity_change, contact_upsert, identity_lock
from whatsapp.services.jobs import media_download_enqueue
from whatsapp.services.statuses import status_update_apply
from whatsapp.webhooks.handlers import ChangeInput

logger = logging.getLogger(__name__)

__all__ = [
    "ApplyResult",
    "contact_upsert",
    "inbound_change_apply",
    "messages_changes_apply",
    "parse_timestamp",
]

# One parser for the codebase (whatsapp.graph.facts); the name stays for existing callers.
parse_timestamp = timestamp_parse
IDENTITY_CHANGES = frozenset({"user_changed_number", "user_id_update"})
ACTION_TYPES = ("edit", "revoke")
# Errors that are not the item's fault: the whole change is retried by the caller.
TRANSIENT_ERRORS = (OperationalError,)


@dataclass
class ApplyResult:
    messages_created: int = 0
    messages_duplicate: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        parts = [f"messages +{self.messages_created} ={self.messages_duplicate}"]
        if self.statuses:
            parts.append(
                "statuses " + ",".join(f"{k}:{v}" for k, v in sorted(self.statuses.items()))
            )
        return " ".join(parts)


def messages_changes_apply(changes: Sequence[ChangeInput]) -> dict[int, str]:
    """The gateway's handler for `messages` changes (contract: whatsapp.webhooks.handlers).

    Returns `{change_id: notes}` for every change (notes name the items set aside or stored
    without their content; "" when none). Each item runs in its own savepoint; only transient
    database errors escape (the gateway then retries change by change). The locks of every
    identity and message id of the batch are taken first, in one sorted statement, so
    concurrent batches never deadlock on them.
    """
    parsed = [(change, messages_update_parse(change.value)) for change in changes]
    _lock_identities([update for _, update in parsed])
    results = _updates_apply([(update, change.phone_number_id) for change, update in parsed])
    outcome: dict[int, str] = {}
    for (change, _), result in zip(parsed, results, strict=True):
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug("messages change applied: %s %s", change.change_id, result.summary())
        outcome[change.change_id] = "; ".join(result.notes)
    return outcome


def inbound_change_apply(*, value: dict[str, Any], phone_number_id: str) -> ApplyResult:
    """Apply one `messages` change (`value`) in the current tenant schema; see the module."""
    update = messages_update_parse(value)
    _lock_identities([update])
    return _updates_apply([(update, phone_number_id)])[0]


def _updates_apply(pairs: list[tuple[MessagesUpdate, str]]) -> list[ApplyResult]:
    """The set-based apply (whatsapp.services.inbound_batch) in a savepoint; if it raises for
    anything but a transient error (a value the parser missed), the same batch item by item.
    No savepoint per change on the item path: each item has its own, and an error that escapes
    them is transient and fails the batch, which the gateway retries change by change."""
    from whatsapp.services.inbound_batch import updates_apply_sets  # it builds on this module

    try:
        with transaction.atomic():
            results = updates_apply_sets(pairs)
    except TRANSIENT_ERRORS:
        raise
    except Exception as exc:
        logger.warning(
            "set-based apply of %d change(s) failed, applying item by item: %s",
            len(pairs),
            type(exc).__name__,
        )
        results = [
            update_apply_items(update=update, phone_number_id=phone_number_id, result=ApplyResult())
            for update, phone_number_id in pairs
        ]
    # Metered in the same transaction, only what was stored now: a redelivered or replayed
    # message is a duplicate (not created), so it is never counted twice.
    usage_record(
        metric="inbound_messages", quantity=sum(result.messages_created for result in results)
    )
    return results


def _lock_identities(updates: Sequence[MessagesUpdate]) -> None:
    wa_ids: set[str] = set()
    user_ids: set[str] = set()
    # An original and its edits/revokes lock the original's wamid: whichever worker stores the
    # second one waits for the first to commit, then sees it (no edit left unapplied).
    wamids: set[str] = set()
    for update in updates:
        for profile in update.contacts:
            wa_ids.add(profile.wa_id)
            user_ids.add(profile.user_id)
        for message in update.messages:
            wa_ids.add(message.from_wa_id)
            user_ids.add(message.from_user_id)
            wamids.add(message.refers_to if message.type in ACTION_TYPES else message.wamid)
            if message.system is not None:
                wa_ids.add(message.system.wa_id)
                user_ids.add(message.system.user_id)
    identity_lock(wa_ids=wa_ids, user_ids=user_ids, wamids=wamids)


def update_apply_items(
    *, update: MessagesUpdate, phone_number_id: str, result: ApplyResult
) -> ApplyResult:
    """Apply one parsed change item by item, each in its own savepoint (the slow, locked path);
    adds its counts and notes to `result` and returns it. Call with the identity locks held."""
    phone_number_id = phone_number_id or update.metadata.phone_number_id
    for item in update.unparseable:
        result.notes.append(f"{item.where} set aside: {item.error}")
    # Two queries per change instead of two per message: which wamids are stored already, and
    # which of the new ones have edits/revokes waiting for them.
    wamids = [message_wamid(m) for m in update.messages]
    if not wamids:
        return _statuses_and_errors(update, phone_number_id, result)
    known = set(WhatsAppMessage.objects.filter(wamid__in=wamids).values_list("wamid", flat=True))
    awaited = set(
        WhatsAppMessage.objects.filter(
            context_wamid__in=[w for w in wamids if w not in known], type__in=ACTION_TYPES
        ).values_list("context_wamid", flat=True)
    )
    for index, message in enumerate(update.messages):
        if wamids[index] in known:
            result.messages_duplicate += 1
            continue
        known.add(wamids[index])  # the same wamid twice in one change is stored once
        outcome = isolated(
            lambda m=message: message_store(
                message=m, update=update, phone_number_id=phone_number_id, awaited=awaited
            ),
            # The retry re-reads: the item may have failed because another worker stored it.
            lambda m=message: message_store(
                message=_minimal(m),
                update=update,
                phone_number_id=phone_number_id,
                awaited=awaited,
                recheck=True,
            ),
            where=f"messages[{index}]",
            notes=result.notes,
        )
        if outcome is None:
            continue
        if outcome == "no sender":
            result.notes.append(f"messages[{index}] has no sender id; kept in the raw event")
        elif outcome == "created":
            result.messages_created += 1
        else:
            result.messages_duplicate += 1
    return _statuses_and_errors(update, phone_number_id, result)


def _statuses_and_errors(
    update: MessagesUpdate, phone_number_id: str, result: ApplyResult
) -> ApplyResult:
    for index, status in enumerate(update.statuses):
        status_apply_isolated(status=status, index=index, result=result)
    if update.errors:
        # App-level problems not tied to a message: worth an operator's attention.
        codes = [str(e.get("code")) for e in update.errors]
        logger.warning("webhook value errors: phone_number_id=%s codes=%s", phone_number_id, codes)
        result.notes.append(f"value.errors codes {codes}")
    return result


def status_apply_isolated(*, status: StatusUpdate, index: int, result: ApplyResult) -> None:
    """Apply receipt `statuses[index]` alone in a savepoint and count its outcome in `result`
    (an error sets it aside in `result.notes`). The per-item path, and the set-based path's
    fallback for receipts it leaves to it."""
    outcome = isolated(
        lambda: status_update_apply(update=status),
        None,
        where=f"statuses[{index}]",
        notes=result.notes,
    )
    if outcome is not None:
        result.statuses[outcome] = result.statuses.get(outcome, 0) + 1


def isolated(apply: Any, fallback: Any, *, where: str, notes: list[str]) -> str | None:
    """Run `apply` in a savepoint; on an item error try `fallback`, else set the item aside."""
    error: Exception | None = None
    for attempt in (apply, fallback):
        if attempt is None:
            break
        try:
            with transaction.atomic():
                outcome = attempt()
        except TRANSIENT_ERRORS:
            raise
        except Exception as exc:
            error = error or exc
            logger.warning("item refused: %s %s", where, type(exc).__name__)
            continue
        if attempt is fallback and outcome == "created":
            notes.append(f"{where} stored without its content: {type(error).__name__}")
        return outcome
    notes.append(f"{where} set aside: {type(error).__name__}: {text_clean(str(error))[:200]}")
    return None


def _minimal(message: InboundMessage) -> InboundMessage:
    return dataclasses.replace(
        message,
        text=message.text[:4096],
        content={},
        raw={"unstorable": True, "id": message.wamid, "type": message.type},
    )


def message_wamid(message: InboundMessage) -> str:
    if message.wamid:
        return message.wamid
    # Meta always sends an id; if one ever does not, a stable id from the content still dedupes.
    canonical = json.dumps(message.raw, sort_keys=True, separators=(",", ":"), default=str)
    return "noid." + hashlib.sha256(canonical.encode()).hexdigest()


def message_content(message: InboundMessage) -> dict[str, Any]:
    """The typed payload plus the cross-type extras the API shows (context, referral, errors)."""
    content = dict(message.content)
    if message.edit is not None and message.edit.message is not None:
        content = {
            "original_message_id": message.edit.original_message_id,
            "message_type": message.edit.message.type,
            "message": message.edit.message.content,
        }
    if message.system is not None and message.system.identity:
        content["identity"] = message.system.identity
    raw = message.raw
    for extra in ("context", "referral", "errors"):
        if raw.get(extra) is not None:
            content[extra] = raw[extra]
    return content


def incoming_message_row(
    *,
    message: InboundMessage,
    wamid: str,
    phone_number_id: str,
    contact_id: int,
    from_ids: tuple[str, str],
    timestamp: datetime,
) -> WhatsAppMessage:
    """The unsaved row of an inbound message (the per-item and the set-based paths both store
    this shape). `from_ids` is Meta's (`from`, `from_user_id`), kept even if the contact's
    number changes later."""
    return WhatsAppMessage(
        wamid=wamid,
        direction=WhatsAppMessage.Direction.INCOMING,
        status=WhatsAppMessage.Status.RECEIVED,
        phone_number_id=phone_number_id,
        contact_id=contact_id,
        recipient="",
        type=message.type,
        text=message.text,
        content=message_content(message),
        raw=message.raw,
        context_wamid=message.refers_to,
        from_wa_id=from_ids[0],
        from_user_id=from_ids[1],
        timestamp=timestamp,
    )


def message_store(
    *,
    message: InboundMessage,
    update: MessagesUpdate,
    phone_number_id: str,
    awaited: set[str] | None = None,
    recheck: bool = False,
) -> str:
    """Store one inbound message: `created`, `duplicate` or `no sender` (no id to attach it).

    The caller has checked the wamid is new (unless `recheck`) and runs this in a savepoint: a
    concurrent insert of the same wamid raises IntegrityError there. `awaited` holds the wamids
    that edits/revokes refer to (an action stored here adds its original). Call with the
    sender's identity locks and the message's lock held (`_lock_identities`).
    """
    awaited = set() if awaited is None else awaited
    wamid = message_wamid(message)
    if recheck and WhatsAppMessage.objects.filter(wamid=wamid).exists():
        return "duplicate"
    profile = update.profile_for(message)
    wa_id = message.from_wa_id or (profile.wa_id if profile else "")
    user_id = message.from_user_id or (profile.user_id if profile else "")
    if not wa_id and not user_id:
        logger.warning("inbound message without sender: wamid=%s", message.wamid)
        return "no sender"
    timestamp = message.timestamp or timezone.now()
    contact = contact_upsert(
        wa_id=wa_id,
        user_id=user_id,
        parent_user_id=profile.parent_user_id if profile else "",
        username=profile.username if profile else "",
        name=profile.name if profile else "",
        seen_at=timestamp,
        locked=True,
    )
    stored = incoming_message_row(
        message=message,
        wamid=wamid,
        phone_number_id=phone_number_id,
        contact_id=contact.pk,
        from_ids=(wa_id, user_id),
        timestamp=timestamp,
    )
    stored.save(force_insert=True)
    system = message.system
    if system is not None and system.kind in IDENTITY_CHANGES:
        contact_identity_change(
            contact_id=contact.pk,
            new_wa_id=system.wa_id,
            new_user_id=system.user_id,
            reason=f"{system.kind} ({stored.wamid})",
            changed_at=timestamp,
        )
    if message.type in ACTION_TYPES:
        if message.refers_to:
            awaited.add(message.refers_to)
            message_actions_apply(original_wamid=message.refers_to)
    elif stored.wamid in awaited or recheck:
        message_actions_apply(original_wamid=stored.wamid)
    if message.media is not None and message.media.id:
        media_row = WhatsAppMedia.objects.create(
            message=stored,
            media_id=message.media.id,
            mime_type=message.media.mime_type,
            sha256=message.media.sha256,
            # Display only: storage paths never use user input (tenant_media_path).
            original_filename=message.media.filename,
        )
        media_download_enqueue(media_id=media_row.pk)
    logger.debug(
        "inbound message stored: wamid=%s type=%s contact=%s", stored.wamid, stored.type, contact.pk
    )
    return "created"


def _iso(value: datetime) -> str:
    return value.isoformat()


def message_actions_apply(*, original_wamid: str) -> bool:
    """Recompute the original's edits and revoke from every edit/revoke row that refers to it.

    The newest edit (by Meta's timestamp, then wamid) gives `text`/`content`/`edited_at`; the
    original version and the older edits are `edit_history`, oldest first; the earliest revoke
    gives `revoked_at`. Only actions from the original's own contact count. Same rows, any
    order, same result. False when the original is not stored yet (the actions wait in their
    rows).
    """
    original = (
        WhatsAppMessage.objects.select_for_update()
        .filter(wamid=original_wamid, direction=WhatsAppMessage.Direction.INCOMING)
        .first()
    )
    if original is None:
        return False
    actions = list(
        WhatsAppMessage.objects.filter(
            context_wamid=original_wamid,
            type__in=ACTION_TYPES,
            direction=WhatsAppMessage.Direction.INCOMING,
            # Only the original's sender may edit or revoke it: another customer's edit naming
            # this wamid stays a loose row of its own and changes nothing here.
            contact_id=original.contact_id,
        ).order_by("timestamp", "wamid")
    )
    edits = [a for a in actions if a.type == "edit"]
    revokes = [a for a in actions if a.type == "revoke"]
    updates: dict[str, Any] = {}
    if edits:
        first = (
            original.edit_history[0]
            if original.edit_history
            else {
                "wamid": original.wamid,
                "at": _iso(original.timestamp),
                "text": original.text,
                "content": original.content,
            }
        )
        versions = [first] + [
            {
                "wamid": e.wamid,
                "at": _iso(e.timestamp),
                "text": e.text,
                "content": e.content.get("message") or {},
            }
            for e in edits
        ]
        latest = versions[-1]
        content = latest["content"] if isinstance(latest["content"], dict) else {}
        updates.update(
            text=latest["text"],
            content=content or original.content,
            edited_at=edits[-1].timestamp,
            edit_history=versions[:-1],
        )
    if revokes:
        updates["revoked_at"] = revokes[0].timestamp
    changed = {k: v for k, v in updates.items() if getattr(original, k) != v}
    if changed:
        WhatsAppMessage.objects.filter(pk=original.pk).update(**changed, updated_at=timezone.now())
        logger.info("message edits/revoke applied: wamid=%s", original_wamid)
    return True
