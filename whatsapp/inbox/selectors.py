"""What the inbox and contacts pages read: a bounded number of queries per page, never one per
conversation or per message."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.contrib.auth import get_user_model
from django.db.models import Count, Exists, Max, OuterRef, Q, QuerySet, Sum
from django.utils import timezone

from tenants.access import current_org_id
from tenants.models import Membership
from whatsapp.models import Contact, Conversation, WhatsAppMessage

CUSTOMER_WINDOW = timedelta(hours=24)
# How far back the live check looks for changed summaries: longer than any transaction that
# writes them, so a change committed late (after a later one was seen) still changes the stamp.
CHANGE_HORIZON = timedelta(minutes=10)
ACTION_TYPES = ("edit", "revoke")
HIDDEN_TYPES = (*ACTION_TYPES, "reaction")


def conversation_list(*, search: str = "", limit: int = 100) -> QuerySet[Conversation]:
    """Conversations by last activity, newest first, with contact and last message joined (one
    query). `search` matches the contact's name, number, username or BSUID, or any message
    text of the conversation (the trigram index of migration 0004 serves the text match)."""
    conversations = Conversation.objects.select_related("contact", "last_message").order_by(
        "-last_activity_at", "-id"
    )
    search = search.strip()
    if search:
        matches = _contact_matches(search, prefix="contact__")
        text_match = WhatsAppMessage.objects.filter(
            contact_id=OuterRef("contact_id"),
            phone_number_id=OuterRef("phone_number_id"),
            text__icontains=search,
        )
        conversations = conversations.filter(matches | Exists(text_match))
    return conversations[:limit]


def _contact_matches(search: str, *, prefix: str = "") -> Q:
    """A contact whose name, username or BSUID contains `search`, or whose number contains its
    digits (so "+55 11 9999" finds 5511999990000)."""
    matches = (
        Q(**{f"{prefix}name__icontains": search})
        | Q(**{f"{prefix}username__icontains": search})
        | Q(**{f"{prefix}user_id__icontains": search})
    )
    digits = "".join(ch for ch in search if ch.isdigit())
    if digits:
        matches |= Q(**{f"{prefix}wa_id__contains": digits})
    return matches


def inbox_stamp() -> str:
    """A value that changes whenever any conversation summary changes: the live list compares
    it every second. One index range scan over the summaries changed within CHANGE_HORIZON; the
    sum of their versions also changes when a transaction commits after a later one was seen."""
    recent = Conversation.objects.filter(changed_at__gt=timezone.now() - CHANGE_HORIZON)
    stamp = recent.aggregate(n=Count("id"), v=Sum("version"), t=Max("changed_at"))
    return f"{stamp['n']}.{stamp['v'] or 0}.{stamp['t'].timestamp() if stamp['t'] else 0}"


def conversation_messages(*, conversation: Conversation, limit: int = 200) -> QuerySet:
    """The conversation's newest `limit` messages (media joined), newest first."""
    return (
        WhatsAppMessage.objects.filter(
            contact_id=conversation.contact_id, phone_number_id=conversation.phone_number_id
        )
        .select_related("media")
        .order_by("-timestamp", "-id")[:limit]
    )


def conversation_stamp(*, conversation: Conversation) -> str:
    """Changes when the summary (new message, note, assignment, read) or any shown message
    changes (a receipt, an edit, a revoke, its media stored): the open conversation's check.
    One query over the shown messages (index msg_contact_idx) with their media joined."""
    shown = conversation_messages(conversation=conversation).values(
        "id", "updated_at", "media__state"
    )
    rows = list(shown)
    total = sum(row["updated_at"].timestamp() for row in rows)
    stored = sum(1 for row in rows if row["media__state"] == "stored")
    return f"{conversation.version}.{len(rows)}.{total:.6f}.{stored}"


@dataclass
class Thread:
    """The messages a conversation page shows, oldest first, with what refers to them:
    `reactions[wamid]` (latest emoji per customer/us), `quoted[wamid]` (originals of replies)."""

    messages: list[WhatsAppMessage]
    reactions: dict[str, list[str]] = field(default_factory=dict)
    quoted: dict[str, WhatsAppMessage] = field(default_factory=dict)


def conversation_thread(*, conversation: Conversation) -> Thread:
    """Two queries: the messages, then the originals quoted by replies that fall outside them."""
    newest_first = list(conversation_messages(conversation=conversation))
    by_wamid = {m.wamid: m for m in newest_first if m.wamid}
    reactions: dict[str, dict[str, str]] = defaultdict(dict)
    for message in reversed(newest_first):  # oldest first: a later reaction replaces
        if message.type == "reaction" and message.context_wamid:
            emoji = message.text or (message.content or {}).get("emoji", "")
            who = message.direction
            if emoji:
                reactions[message.context_wamid][who] = emoji
            else:  # Meta sends an empty emoji when a reaction is removed
                reactions[message.context_wamid].pop(who, None)
    wanted = {
        m.context_wamid
        for m in newest_first
        if m.context_wamid and m.type not in HIDDEN_TYPES and m.context_wamid not in by_wamid
    }
    quoted = dict(by_wamid)
    if wanted:
        for original in WhatsAppMessage.objects.filter(wamid__in=wanted):
            quoted[original.wamid] = original
    shown = [
        m
        for m in reversed(newest_first)
        if m.type not in ACTION_TYPES and not (m.type == "reaction" and m.context_wamid in by_wamid)
    ]
    return Thread(
        messages=shown,
        reactions={k: list(v.values()) for k, v in reactions.items() if v},
        quoted=quoted,
    )


def window_closes_at(conversation: Conversation) -> datetime | None:
    """When Meta's 24-hour customer service window of this conversation closes (None: never
    opened). https://developers.facebook.com/docs/whatsapp/pricing#customer-service-windows"""
    if conversation.last_inbound_at is None:
        return None
    return conversation.last_inbound_at + CUSTOMER_WINDOW


def org_members() -> dict[int, str]:
    """The current organization's members: user id -> email (one query, public schema)."""
    users = (
        get_user_model()
        .objects.filter(memberships__organization__org_id=current_org_id())
        .order_by("email")
    )
    return {user.pk: user.email or user.get_username() for user in users}


def member_exists(*, user_id: int) -> bool:
    members = Membership.objects.filter(organization__org_id=current_org_id())
    return members.filter(user_id=user_id).exists()


def contact_list(*, search: str = "", tag: str = "", limit: int | None = 200) -> QuerySet[Contact]:
    """Contacts, most recently seen first, tags prefetched; `search` as in conversation_list."""
    contacts = Contact.objects.prefetch_related("tags").order_by("-last_seen", "-id")
    search = search.strip()
    if search:
        matches = _contact_matches(search) | Q(tags__name=search.lower())
        contacts = contacts.filter(matches).distinct()
    if tag:
        contacts = contacts.filter(tags__name=tag.lower())
    return contacts if limit is None else contacts[:limit]
