"""The set-based apply of a batch of `messages` changes (the webhook worker's fast path).

Same promises as the per-item path in whatsapp.services.inbound (exactly once, per-item
isolation, order independence), in a few statements per batch instead of ~7 per message:

- plain senders: one SELECT, one `INSERT ... ON CONFLICT DO NOTHING RETURNING`, one `UPDATE ...
  FROM unnest(...)` (whatsapp.services.contacts.contacts_upsert_plain);
- messages: one `INSERT ... ON CONFLICT DO NOTHING RETURNING id, wamid` (a wamid not returned was
  stored already: a duplicate), one SELECT for edits/revokes waiting for the new rows, media rows
  in one INSERT;
- receipts: whatsapp.services.statuses.statuses_apply_set (one locking SELECT, one UPDATE, parked
  receipts in one INSERT).

What is rare and order-sensitive stays on the per-item, locked path, applied after the sets:
a change carrying an edit, a revoke or a system (identity) message; a message without a sender;
a sender whose identity is in play (see `contacts_upsert_plain`); `failed` receipts; receipts
matched by callback reference. The caller (`messages_changes_apply`) runs this in a savepoint
and, if it raises anything but a transient error, applies the batch again item by item, so a
value the parser missed can only ever fail its own item.
Payloads: https://developers.facebook.com/documentation/business-messaging/whatsapp/webhooks/reference/messages
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from django.utils import timezone

from whatsapp.graph.updates import InboundMessage, MessagesUpdate
from whatsapp.models import WhatsAppMedia, WhatsAppMessage
from whatsapp.services.bulk import insert_ignore
from whatsapp.services.contacts import Sender, contacts_upsert_plain
from whatsapp.services.inbound import (
    ACTION_TYPES,
    ApplyResult,
    incoming_message_row,
    message_actions_apply,
    message_wamid,
    status_apply_isolated,
    update_apply_items,
)
from whatsapp.services.jobs import media_download_enqueue
from whatsapp.services.statuses import statuses_apply_set


def _plain(update: MessagesUpdate) -> bool:
    """No edit, revoke or system message (those are applied in order, locked, one by one)."""
    return not any(m.type in ACTION_TYPES or m.system is not None for m in update.messages)


def _sender(update: MessagesUpdate, message: InboundMessage) -> Sender | None:
    profile = update.profile_for(message)
    wa_id = message.from_wa_id or (profile.wa_id if profile else "")
    user_id = message.from_user_id or (profile.user_id if profile else "")
    if not wa_id and not user_id:
        return None
    return Sender(
        wa_id=wa_id,
        user_id=user_id,
        parent_user_id=profile.parent_user_id if profile else "",
        username=profile.username if profile else "",
        name=profile.name if profile else "",
        seen_at=message.timestamp or timezone.now(),
    )


def updates_apply_sets(
    updates: Sequence[tuple[MessagesUpdate, str]],
) -> list[ApplyResult]:
    """Apply `(update, phone_number_id)` pairs in the current tenant schema; one ApplyResult
    per pair, in order. Call with the batch's identity locks held, inside a transaction."""
    results = [ApplyResult() for _ in updates]
    slow: list[tuple[int, MessagesUpdate]] = []  # (position, what is left for the item path)
    plain: list[tuple[int, InboundMessage, Sender, str]] = []
    for position, (update, phone_number_id) in enumerate(updates):
        phone_number_id = phone_number_id or update.metadata.phone_number_id
        if not _plain(update):
            slow.append((position, update))
            continue
        leftover = []
        for message in update.messages:
            sender = _sender(update, message)
            if sender is None:
                leftover.append(message)
            else:
                plain.append((position, message, sender, phone_number_id))
        if leftover or update.unparseable or update.errors:
            slow.append(
                (position, dataclasses.replace(update, messages=tuple(leftover), statuses=()))
            )
    contact_ids = contacts_upsert_plain(senders=[s for _, _, s, _ in plain])
    rows: list[WhatsAppMessage] = []
    owner: dict[str, tuple[int, InboundMessage]] = {}
    for position, message, sender, phone_number_id in plain:
        contact_id = contact_ids.get(sender.key)
        wamid = message_wamid(message)
        if contact_id is None:  # identity in play: the locked path stores it
            update = updates[position][0]
            alone = dataclasses.replace(
                update, messages=(message,), statuses=(), unparseable=(), errors=()
            )
            slow.append((position, alone))
            continue
        if wamid in owner:  # the same wamid twice in the batch is stored once
            results[position].messages_duplicate += 1
            continue
        owner[wamid] = (position, message)
        rows.append(
            incoming_message_row(
                message=message,
                wamid=wamid,
                phone_number_id=phone_number_id,
                contact_id=contact_id,
                from_ids=(sender.wa_id, sender.user_id),
                timestamp=sender.seen_at,
            )
        )
    created = dict(
        (wamid, pk) for pk, wamid in insert_ignore(WhatsAppMessage, rows, returning=("id", "wamid"))
    )
    for wamid, (position, _) in owner.items():
        if wamid in created:
            results[position].messages_created += 1
        else:
            results[position].messages_duplicate += 1
    if created:
        awaited = WhatsAppMessage.objects.filter(
            context_wamid__in=list(created), type__in=ACTION_TYPES
        ).values_list("context_wamid", flat=True)
        for wamid in sorted(set(awaited)):  # an edit/revoke arrived before its original
            message_actions_apply(original_wamid=wamid)
        _media_store(created, owner)
    _statuses_apply([(pos, u) for pos, (u, _) in enumerate(updates) if _plain(u)], results)
    for position, update in slow:
        phone_number_id = updates[position][1]
        update_apply_items(update=update, phone_number_id=phone_number_id, result=results[position])
    return results


def _media_store(created: dict[str, int], owner: dict[str, tuple[int, InboundMessage]]) -> None:
    media = [
        WhatsAppMedia(
            message_id=created[wamid],
            media_id=message.media.id,
            mime_type=message.media.mime_type,
            sha256=message.media.sha256,
            # Display only: storage paths never use user input (tenant_media_path).
            original_filename=message.media.filename,
        )
        for wamid, (_, message) in owner.items()
        if wamid in created and message.media is not None and message.media.id
    ]
    if not media:
        return
    ids = [pk for (pk,) in insert_ignore(WhatsAppMedia, media, returning=("id",))]
    for media_pk in ids:  # by name, in this tenant, after commit (services never import tasks)
        media_download_enqueue(media_id=media_pk)


def _statuses_apply(updates: list[tuple[int, MessagesUpdate]], results: list[ApplyResult]) -> None:
    batch = [
        (position, index, status)
        for position, update in updates
        for index, status in enumerate(update.statuses)
    ]
    if not batch:
        return
    outcomes = statuses_apply_set(updates=[status for _, _, status in batch])
    for (position, index, status), outcome in zip(batch, outcomes, strict=True):
        result = results[position]
        if outcome is None:  # a failed receipt, or one to find by its reference
            status_apply_isolated(status=status, index=index, result=result)
        else:
            result.statuses[outcome] = result.statuses.get(outcome, 0) + 1
