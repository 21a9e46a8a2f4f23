"""The one module that writes a contact's identity (`wa_id`, `user_id`): upsert from inbound
traffic, identity changes Meta announces, merges (automatic or by an org admin).

Identity keys: BSUID (`user_id`) first, phone (`wa_id`) second, each unique when present
(https://developers.facebook.com/documentation/business-messaging/whatsapp/business-scoped-user-ids/).

One user, several numbers: Meta treats some forms of a phone number as one WhatsApp user
(Brazil's ninth digit, Mexico's `521`, Argentina's `549`; whatsapp.graph.wa_id). Every lookup
by phone here matches any of those forms, and the phone lock covers all of them, so inbound
traffic, sending and Meta's send answer agree on one contact per user.

A batch of webhook messages upserts its plain senders as a set (`contacts_upsert_plain`); any
sender whose identity is in play goes through `contact_upsert`, one by one, locked.

Order independence: every writer first takes transaction-scoped advisory locks on the identity
keys it touches (`identity_lock`, sorted, one statement, so two writers never deadlock on
them), then reads. So a `user_changed_number` system message and the first message from the new
number serialize on the new number's key, and whichever commits second sees the first: the
outcome (one contact holding the new ids and every message) is the same in either order.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import F, ProtectedError, Q, Value
from django.db.models.functions import Coalesce, Greatest, Least
from django.utils import timezone

from whatsapp.errors import WhatsAppDomainError
from whatsapp.graph.wa_id import wa_id_candidates
from whatsapp.models import Contact, ContactIdentityChange, ContactMerge, WhatsAppMessage
from whatsapp.services.bulk import insert_ignore

logger = logging.getLogger(__name__)


class ContactMergeError(WhatsAppDomainError):
    """Two contacts cannot be merged (a contact into itself)."""

    code = "contact_merge_invalid"


class ContactNotFoundError(WhatsAppDomainError):
    code = "contact_not_found"
    http_status = 404


def _lock_key(kind: str, value: str) -> int:
    """A signed 64-bit advisory-lock key for one identity in the current schema (advisory locks
    are database-wide, so the schema is part of the key)."""
    digest = hashlib.blake2b(
        f"{connection.schema_name}:{kind}:{value}".encode(), digest_size=8
    ).digest()
    return int.from_bytes(digest, "big", signed=True)


@lru_cache(maxsize=8192)
def wa_id_forms(wa_id: str) -> tuple[str, ...]:
    """`wa_id` first, then every other form Meta treats as the same user; () for "".
    Cached: parsing a number costs tens of microseconds and every inbound message needs it."""
    if not wa_id:
        return ()
    forms = wa_id_candidates(wa_id)
    return forms if forms[:1] == (wa_id,) else (wa_id, *forms)


def _contact_with_form(forms: tuple[str, ...], *, exclude: int | None = None) -> Contact | None:
    """The contact holding the first of `forms` that any contact holds (exact form preferred)."""
    if not forms:
        return None
    query = Contact.objects.filter(wa_id__in=forms)
    if exclude is not None:
        query = query.exclude(pk=exclude)
    found = {contact.wa_id: contact for contact in query}
    return next((found[form] for form in forms if form in found), None)


def identity_lock(
    *, wa_ids: Iterable[str] = (), user_ids: Iterable[str] = (), wamids: Iterable[str] = ()
) -> None:
    """Take the transaction-scoped locks of these identities, and of these message ids (an
    original and its edits/revokes lock the original's wamid), sorted in one statement:
    deadlock-free. A phone number locks each of its forms (`wa_id_forms`), so writers of one
    user serialize whichever form they hold. Must run inside a transaction; released at its
    commit or rollback."""
    keys = sorted(
        {_lock_key("wa", form) for w in wa_ids if w for form in wa_id_forms(w)}
        | {_lock_key("user", u) for u in user_ids if u}
        | {_lock_key("msg", m) for m in wamids if m}
    )
    if not keys:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_advisory_xact_lock(k)) FROM "
            "(SELECT unnest(%s::bigint[]) AS k ORDER BY 1) AS keys",
            [keys],
        )


def contact_upsert(
    *,
    wa_id: str | None,
    user_id: str | None,
    parent_user_id: str = "",
    username: str = "",
    name: str = "",
    seen_at: datetime,
    inbound: bool = True,
    locked: bool = False,
) -> Contact:
    """Find or create the contact for `user_id` (BSUID) or `wa_id`, and refresh what we know.

    Lookup is BSUID, then phone in any of its forms (`wa_id_forms`: a customer who wrote from
    551187654321 and later from 5511987654321 is one contact, which takes the latest form): a
    contact first known by phone gains its BSUID. A phone held by a contact with a *different*
    BSUID changed hands: the new identity takes the number.
    first/last seen and the 24-hour window (`last_inbound_at`) only widen. Raises ValueError
    without any id. Takes the identity locks itself (call inside a transaction) unless the
    caller already holds them (`locked`). The returned contact's fields other than its ids may
    predate this update (callers use its pk).
    """
    wa_id = wa_id or None
    user_id = user_id or None
    if not wa_id and not user_id:
        raise ValueError("a contact needs a wa_id or a user_id")
    if not locked:
        identity_lock(wa_ids=[wa_id or ""], user_ids=[user_id or ""])
    forms = wa_id_forms(wa_id or "")
    contact = Contact.objects.filter(user_id=user_id).first() if user_id else None
    if contact is None and wa_id:
        contact = _contact_with_form(forms)
        if contact is not None and user_id and contact.user_id and contact.user_id != user_id:
            if contact.wa_id == wa_id:
                Contact.objects.filter(pk=contact.pk).update(wa_id=None)
                logger.info("contact number reassigned: contact=%s (wa_id moved)", contact.pk)
            contact = None  # another form held by another BSUID: another user
    if contact is None:
        former = _former_holder(wa_id=wa_id, user_id=user_id, seen_at=seen_at)
        if former is not None:
            # Sent from an id this contact had before it changed, delivered late: same person.
            # Its current ids stay; only the seen times and the window widen.
            _widen(former.pk, seen_at=seen_at, inbound=inbound)
            return former
    if contact is None:
        try:
            with transaction.atomic():
                return Contact.objects.create(
                    wa_id=wa_id,
                    user_id=user_id,
                    parent_user_id=parent_user_id,
                    username=username,
                    name=name,
                    first_seen=seen_at,
                    last_seen=seen_at,
                    last_inbound_at=seen_at if inbound else None,
                )
        except IntegrityError:
            # A writer that did not lock (outbound) created it meanwhile: re-read.
            contact = Contact.objects.filter(
                Q(user_id=user_id) if user_id else Q(wa_id=wa_id)
            ).first()
            if contact is None:
                raise
    updates = _widening(seen_at=seen_at, inbound=inbound)
    for key, value in (("name", name), ("username", username), ("parent_user_id", parent_user_id)):
        if value and value != getattr(contact, key):
            updates[key] = value
    if user_id and not contact.user_id:
        updates["user_id"] = user_id
    if wa_id and wa_id != contact.wa_id:
        holder = _contact_with_form(forms, exclude=contact.pk)
        if holder is not None and holder.user_id and holder.user_id != user_id:
            if holder.wa_id == wa_id:
                # The number changed hands (its holder has another BSUID): the new identity
                # takes it. Another form held by another BSUID is another user's: left alone.
                Contact.objects.filter(pk=holder.pk).update(wa_id=None)
        elif holder is not None:
            # The same person known twice (by phone, then by BSUID): one contact.
            contact_merge(
                survivor_id=contact.pk,
                merged_id=holder.pk,
                reason="same person: phone number (or another form of it) and BSUID",
                actor="system",
            )
        updates["wa_id"] = wa_id
    Contact.objects.filter(pk=contact.pk).update(**updates)
    contact.wa_id = wa_id or contact.wa_id
    contact.user_id = contact.user_id or user_id
    return contact


def _widening(*, seen_at: datetime, inbound: bool) -> dict[str, Any]:
    """first/last seen and the 24-hour window only ever widen."""
    updates: dict[str, Any] = {
        "first_seen": Least(Coalesce(F("first_seen"), Value(seen_at)), Value(seen_at)),
        "last_seen": Greatest(Coalesce(F("last_seen"), Value(seen_at)), Value(seen_at)),
        "updated_at": timezone.now(),
    }
    if inbound:
        updates["last_inbound_at"] = Greatest(
            Coalesce(F("last_inbound_at"), Value(seen_at)), Value(seen_at)
        )
    return updates


def _widen(contact_id: int, *, seen_at: datetime, inbound: bool) -> None:
    Contact.objects.filter(pk=contact_id).update(**_widening(seen_at=seen_at, inbound=inbound))


def _former_holder(*, wa_id: str | None, user_id: str | None, seen_at: datetime) -> Contact | None:
    """The contact that held `user_id` (or, for a message without a BSUID or with the same
    former BSUID, `wa_id`) when a message sent at `seen_at` was sent. Only messages sent before
    the change count: a number used after it changed may belong to someone else by then."""
    match = Q(old_user_id=user_id) if user_id else Q(pk__in=[])
    if wa_id:
        match |= Q(old_wa_id=wa_id) & (Q(old_user_id=user_id or "") | Q(old_user_id=""))
    change = (
        ContactIdentityChange.objects.filter(match, changed_at__gte=seen_at)
        .select_related("contact")
        .order_by("changed_at", "id")
        .first()
    )
    return change.contact if change is not None else None


def contact_identity_change(
    *,
    contact_id: int,
    new_wa_id: str = "",
    new_user_id: str = "",
    reason: str,
    changed_at: datetime | None = None,
) -> Contact:
    """Meta says contact `contact_id` now has `new_wa_id` and/or `new_user_id`
    (`user_changed_number`, `user_id_update`). A contact already holding a new id (the new
    number wrote first) is merged into this one, so both orders end as one contact. A new phone
    number without a new BSUID drops the old BSUID (Meta issues a BSUID per number).
    """
    contact = Contact.objects.get(pk=contact_id)
    identity_lock(
        wa_ids=[new_wa_id, contact.wa_id or ""], user_ids=[new_user_id, contact.user_id or ""]
    )
    contact = Contact.objects.select_for_update().get(pk=contact_id)
    holders = Contact.objects.exclude(pk=contact.pk).filter(
        (Q(wa_id=new_wa_id) if new_wa_id else Q(pk__in=[]))
        | (Q(user_id=new_user_id) if new_user_id else Q(pk__in=[]))
    )
    for holder in list(holders.order_by("pk")):
        # The holder is the new identity: what it knows and Meta's notice did not say (e.g.
        # the new number's BSUID) is part of it, whichever of the two arrived first.
        if holder.wa_id == new_wa_id and not new_user_id:
            new_user_id = holder.user_id or ""
        if holder.user_id == new_user_id and not new_wa_id:
            new_wa_id = holder.wa_id or ""
        contact_merge(
            survivor_id=contact.pk,
            merged_id=holder.pk,
            reason=reason,
            actor="system",
            keep_former_ids=False,
        )
    updates: dict[str, Any] = {}
    if new_wa_id and new_wa_id != contact.wa_id:
        updates["wa_id"] = new_wa_id
        if not new_user_id and contact.user_id:
            updates["user_id"] = None
    if new_user_id and new_user_id != contact.user_id:
        updates["user_id"] = new_user_id
    if updates:
        Contact.objects.filter(pk=contact.pk).update(**updates, updated_at=timezone.now())
        ContactIdentityChange.objects.create(
            contact=contact,
            old_wa_id=contact.wa_id or "",
            old_user_id=contact.user_id or "",
            new_wa_id=updates.get("wa_id") or contact.wa_id or "",
            new_user_id=updates.get("user_id", contact.user_id) or "",
            changed_at=changed_at or timezone.now(),
            reason=reason[:255],
        )
        logger.info("contact identity changed: contact=%s reason=%s", contact.pk, reason)
    contact.refresh_from_db()
    return contact


@transaction.atomic
def contact_merge(
    *,
    survivor_id: int,
    merged_id: int,
    reason: str,
    actor: str = "",
    keep_former_ids: bool = True,
) -> ContactMerge:
    """Fold contact `merged_id` into `survivor_id` and delete it.

    Moves its messages (their media follow them), widens the survivor's first/last seen and
    24-hour window (`last_inbound_at`), keeps the earliest opt-out, fills the survivor's empty
    name/username/ids from the merged contact, and records a ContactMerge (who, why, the merged
    contact's ids). Messages keep the sender ids Meta gave them (`from_wa_id`, `from_user_id`).
    Ids of the merged contact the survivor cannot take are kept as its former ids (messages sent
    from them before now find the survivor), unless `keep_former_ids` is False (the caller is
    about to give them to the survivor).
    Raises ContactMergeError for the same id, ContactNotFoundError when either is missing.
    """
    if survivor_id == merged_id:
        raise ContactMergeError("A contact cannot be merged into itself.", field="merged_id")
    pair = {c.pk: c for c in Contact.objects.filter(pk__in=[survivor_id, merged_id])}
    if len(pair) != 2:
        raise ContactNotFoundError("Contact not found.")
    identity_lock(
        wa_ids=[c.wa_id or "" for c in pair.values()],
        user_ids=[c.user_id or "" for c in pair.values()],
    )
    locked = {
        c.pk: c
        for c in Contact.objects.select_for_update()
        .filter(pk__in=[survivor_id, merged_id])
        .order_by("pk")
    }
    if len(locked) != 2:
        raise ContactNotFoundError("Contact not found.")
    survivor, merged = locked[survivor_id], locked[merged_id]
    moved = WhatsAppMessage.objects.filter(contact_id=merged.pk).update(contact_id=survivor.pk)
    ContactIdentityChange.objects.filter(contact_id=merged.pk).update(contact_id=survivor.pk)
    audit = ContactMerge.objects.create(
        survivor=survivor,
        survivor_contact_id=survivor.pk,
        merged_contact_id=merged.pk,
        merged_wa_id=merged.wa_id or "",
        merged_user_id=merged.user_id or "",
        merged_name=merged.name,
        reason=reason[:255],
        actor=actor[:255],
        moved_messages=moved,
    )
    merged.delete()

    def widest(a: datetime | None, b: datetime | None, pick: Any) -> datetime | None:
        values = [v for v in (a, b) if v is not None]
        return pick(values) if values else None

    updates: dict[str, Any] = {
        "first_seen": widest(survivor.first_seen, merged.first_seen, min),
        "last_seen": widest(survivor.last_seen, merged.last_seen, max),
        "last_inbound_at": widest(survivor.last_inbound_at, merged.last_inbound_at, max),
        "opted_out_at": widest(survivor.opted_out_at, merged.opted_out_at, min),
        "updated_at": timezone.now(),
    }
    for key in ("name", "username", "parent_user_id", "wa_id", "user_id"):
        if not getattr(survivor, key) and getattr(merged, key):
            updates[key] = getattr(merged, key)
    Contact.objects.filter(pk=survivor.pk).update(**updates)
    left_behind = {
        key: getattr(merged, key) or ""
        for key in ("wa_id", "user_id")
        if getattr(merged, key) and updates.get(key) != getattr(merged, key)
    }
    if left_behind and keep_former_ids:
        # Ids the survivor could not take: messages sent from them until now are its own.
        ContactIdentityChange.objects.create(
            contact=survivor,
            old_wa_id=left_behind.get("wa_id", ""),
            old_user_id=left_behind.get("user_id", ""),
            new_wa_id=updates.get("wa_id") or survivor.wa_id or "",
            new_user_id=updates.get("user_id") or survivor.user_id or "",
            changed_at=timezone.now(),
            reason=f"merge: {reason}"[:255],
        )
    logger.info(
        "contacts merged: survivor=%s merged=%s messages=%s actor=%s",
        survivor.pk,
        merged_id,
        moved,
        actor or "-",
    )
    return audit


def contact_for_address(*, wa_id: str = "", user_id: str = "") -> Contact:
    """The contact to send to: the one with this BSUID (`user_id`, which wins when both are
    given), else the one holding any form of this phone number (`wa_id_forms`, the given form
    preferred); created when new, with the given form and no 24-hour window.

    Race-safe: creators of one user serialise on its identity locks, and the unique keys catch
    writers outside a lock. Raises ValueError without any id.
    """
    if not wa_id and not user_id:
        raise ValueError("a contact needs a wa_id or a user_id")
    if user_id:
        contact = Contact.objects.filter(user_id=user_id).first()
        if contact is not None:
            return contact
        try:
            with transaction.atomic():
                return Contact.objects.create(user_id=user_id)
        except IntegrityError:
            return Contact.objects.get(user_id=user_id)
    forms = wa_id_forms(wa_id)
    contact = _contact_with_form(forms)
    if contact is not None:
        return contact
    try:
        with transaction.atomic():
            identity_lock(wa_ids=[wa_id])
            contact = _contact_with_form(forms)
            if contact is not None:
                return contact
            return Contact.objects.create(wa_id=wa_id)
    except IntegrityError:
        return Contact.objects.get(wa_id=wa_id)


BULK_CHUNK = 5000  # addresses per lookup and INSERT in contacts_for_addresses


def contacts_for_addresses(
    *,
    wa_ids: Sequence[str] = (),
    user_ids: Sequence[str] = (),
    fields: Sequence[str] | None = None,
) -> tuple[dict[str, Contact], dict[str, Contact], int]:
    """`contact_for_address` for many addresses at once (a campaign's CSV audience), in a few
    statements per 5,000: the contacts found or created, keyed by the given wa_id and by
    user_id, and how many were created. `fields`: load only these columns (`QuerySet.only`).

    A number no contact holds in its given form may be held in another form (`wa_id_forms`):
    that contact is used. The others are created with one `INSERT ... ON CONFLICT DO NOTHING`
    per chunk and read back, so a writer that created one meanwhile is found, not duplicated.
    Unlike the one-by-one path this takes no identity locks: a plan may name 100,000 new
    numbers, and PostgreSQL's shared lock table holds a few thousand transaction locks in all.
    The unique keys stop exact duplicates; a contact an inbound message creates at the same
    moment under another form of the number is merged on the first send, when Meta's answer
    names the wa_id (`contact_wa_id_confirm`).
    """
    contacts = Contact.objects.only(*fields) if fields else Contact.objects.all()
    by_wa_id: dict[str, Contact] = {}
    by_user_id: dict[str, Contact] = {}
    created = 0
    wanted_users = list(dict.fromkeys(u for u in user_ids if u))
    wanted_phones = list(dict.fromkeys(w for w in wa_ids if w))
    for start in range(0, len(wanted_users), BULK_CHUNK):
        chunk = wanted_users[start : start + BULK_CHUNK]
        by_user_id.update({c.user_id: c for c in contacts.filter(user_id__in=chunk)})
        missing = [u for u in chunk if u not in by_user_id]
        if missing:
            created += len(insert_ignore(Contact, [Contact(user_id=u) for u in missing], ("id",)))
            by_user_id.update({c.user_id: c for c in contacts.filter(user_id__in=missing)})
    for start in range(0, len(wanted_phones), BULK_CHUNK):
        chunk = wanted_phones[start : start + BULK_CHUNK]
        forms = {wa_id: wa_id_forms(wa_id) for wa_id in chunk}
        every_form = {form for group in forms.values() for form in group}
        holders = {c.wa_id: c for c in contacts.filter(wa_id__in=every_form)}
        missing = []
        for wa_id, group in forms.items():
            holder = next((holders[form] for form in group if form in holders), None)
            if holder is None:
                missing.append(wa_id)
            else:
                by_wa_id[wa_id] = holder
        if missing:
            created += len(insert_ignore(Contact, [Contact(wa_id=w) for w in missing], ("id",)))
            by_wa_id.update({c.wa_id: c for c in contacts.filter(wa_id__in=missing)})
    return by_wa_id, by_user_id, created


def contact_wa_id_confirm(*, contact_id: int, wa_id: str, known_wa_id: str | None = None) -> bool:
    """Meta's `wa_id` for a contact we sent to (the send answer's `contacts[].wa_id`), which may
    be another form of the number we sent to
    (https://developers.facebook.com/docs/whatsapp/cloud-api/reference/messages): the contact
    takes it.

    When another contact holds it and is the same user (this contact has no BSUID and its number
    is a form of Meta's), this contact is merged into that one (`contact_merge`: messages,
    window and opt-out move, audit kept), so one user stays one contact. Returns False (and
    logs) when the wa_id belongs to another user, or the merge lost a race. `known_wa_id` is
    the contact's wa_id as the caller read it: equal to `wa_id`, nothing is queried (the
    common case of a send).
    """
    if not wa_id:
        return False
    if known_wa_id == wa_id:
        return True
    with transaction.atomic():
        identity_lock(wa_ids=[wa_id])
        contact = Contact.objects.filter(pk=contact_id).first()
        if contact is None:
            return False
        if contact.wa_id == wa_id:
            return True
        holder = Contact.objects.filter(wa_id=wa_id).exclude(pk=contact_id).first()
        if holder is None:
            Contact.objects.filter(pk=contact_id).update(wa_id=wa_id, updated_at=timezone.now())
            return True
    if contact.user_id or (contact.wa_id or "") not in wa_id_forms(wa_id):
        logger.warning("contact %s: wa_id from Meta belongs to another contact", contact_id)
        return False
    try:
        contact_merge(
            survivor_id=holder.pk,
            merged_id=contact_id,
            reason="same user: Meta's wa_id for a number we sent to",
            actor="system",
        )
    except (IntegrityError, ProtectedError, ContactNotFoundError):
        logger.warning("contact %s: not merged into contact %s", contact_id, holder.pk)
        return False
    return True


@dataclass(frozen=True)
class Sender:
    """A message's sender as the batch apply sees it: ids, profile and when it wrote."""

    wa_id: str
    user_id: str
    parent_user_id: str
    username: str
    name: str
    seen_at: datetime

    @property
    def key(self) -> tuple[str, str]:
        return (self.wa_id, self.user_id)


def contacts_upsert_plain(*, senders: Sequence[Sender]) -> dict[tuple[str, str], int]:
    """`contact_upsert` for a whole batch, in a few statements, for the common case only.

    Handles the senders whose identity is plain: a contact holding exactly these ids (found by
    BSUID, or by phone when the message has no BSUID), or no contact and no former holder of
    either id (a new contact). For those, one SELECT finds the contacts, one `INSERT ... ON
    CONFLICT DO NOTHING RETURNING` creates the new ones and one `UPDATE ... FROM unnest(...)`
    widens first/last seen and the 24-hour window and refreshes name/username/parent BSUID,
    as `contact_upsert` does. Returns `{(wa_id, user_id): contact id}` for those; every other
    sender (a phone gaining a BSUID, a number changing hands, an id some contact held before,
    a row another writer created meanwhile) is left out, for `contact_upsert`'s locked path.
    Call with the senders' identity locks held (`identity_lock`), inside a transaction.
    """
    merged: dict[tuple[str, str], dict[str, Any]] = {}
    for sender in senders:
        if not sender.wa_id and not sender.user_id:
            continue
        entry = merged.setdefault(
            sender.key,
            {
                "first": sender.seen_at,
                "last": sender.seen_at,
                "name": "",
                "username": "",
                "parent": "",
            },
        )
        entry["first"] = min(entry["first"], sender.seen_at)
        entry["last"] = max(entry["last"], sender.seen_at)
        for key, value in (
            ("name", sender.name),
            ("username", sender.username),
            ("parent", sender.parent_user_id),
        ):
            entry[key] = value or entry[key]
    if not merged:
        return {}
    # Every form Meta treats as the same user is looked up: a sender whose number some contact
    # holds in another form (Brazil's ninth digit...) is not plain, it takes the locked path.
    forms = {w: wa_id_forms(w) for w, _ in merged if w}
    wa_ids = sorted({form for group in forms.values() for form in group})
    user_ids = sorted({u for _, u in merged if u})
    by_wa: dict[str, tuple[int, str | None]] = {}
    by_user: dict[str, tuple[int, str | None]] = {}
    for pk, wa_id, user_id in Contact.objects.filter(
        Q(wa_id__in=wa_ids) | Q(user_id__in=user_ids)
    ).values_list("pk", "wa_id", "user_id"):
        if wa_id:
            by_wa[wa_id] = (pk, user_id)
        if user_id:
            by_user[user_id] = (pk, wa_id)
    found: dict[tuple[str, str], int] = {}
    new: list[tuple[str, str]] = []
    for wa_id, user_id in merged:
        if wa_id and any(form in by_wa for form in forms[wa_id][1:]):
            continue  # another form of this number is held: contact_upsert decides
        if user_id:
            holder = by_user.get(user_id)
            if holder is not None:
                if not wa_id or holder[1] == wa_id:
                    found[(wa_id, user_id)] = holder[0]
            elif not (wa_id and wa_id in by_wa):
                new.append((wa_id, user_id))
        elif wa_id in by_wa:
            found[(wa_id, user_id)] = by_wa[wa_id][0]
        else:
            new.append((wa_id, user_id))
    if new:
        former = ContactIdentityChange.objects.filter(
            Q(old_wa_id__in=[w for w, _ in new if w]) | Q(old_user_id__in=[u for _, u in new if u])
        ).values_list("old_wa_id", "old_user_id")
        taken = {("wa", w) for w, _ in former if w} | {("user", u) for _, u in former if u}
        new = [(w, u) for w, u in new if ("wa", w) not in taken and ("user", u) not in taken]
    if new:
        rows = insert_ignore(
            Contact,
            [
                Contact(
                    wa_id=wa_id or None,
                    user_id=user_id or None,
                    parent_user_id=merged[(wa_id, user_id)]["parent"],
                    username=merged[(wa_id, user_id)]["username"],
                    name=merged[(wa_id, user_id)]["name"],
                    first_seen=merged[(wa_id, user_id)]["first"],
                    last_seen=merged[(wa_id, user_id)]["last"],
                    last_inbound_at=merged[(wa_id, user_id)]["last"],
                )
                for wa_id, user_id in new
            ],
            returning=("id", "wa_id", "user_id"),
        )
        # A row not returned conflicted with one another writer created meanwhile: slow path.
        for pk, wa_id, user_id in rows:
            found[(wa_id or "", user_id or "")] = pk
    inserted = set(new)
    existing = [key for key in found if key not in inserted]
    if existing:
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {Contact._meta.db_table} AS c SET "  # noqa: S608 - the model's table
                "first_seen = LEAST(COALESCE(c.first_seen, v.first), v.first), "
                "last_seen = GREATEST(COALESCE(c.last_seen, v.last), v.last), "
                "last_inbound_at = GREATEST(COALESCE(c.last_inbound_at, v.last), v.last), "
                "name = COALESCE(NULLIF(v.name, ''), c.name), "
                "username = COALESCE(NULLIF(v.username, ''), c.username), "
                "parent_user_id = COALESCE(NULLIF(v.parent, ''), c.parent_user_id), "
                "updated_at = now() "
                "FROM (SELECT unnest(%s::bigint[]) AS id, unnest(%s::timestamptz[]) AS first, "
                "unnest(%s::timestamptz[]) AS last, unnest(%s::text[]) AS name, "
                "unnest(%s::text[]) AS username, unnest(%s::text[]) AS parent) AS v "
                "WHERE c.id = v.id",
                [
                    [found[k] for k in existing],
                    [merged[k]["first"] for k in existing],
                    [merged[k]["last"] for k in existing],
                    [merged[k]["name"] for k in existing],
                    [merged[k]["username"] for k in existing],
                    [merged[k]["parent"] for k in existing],
                ],
            )
    return found
