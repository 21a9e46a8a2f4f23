"""Read-side queries of the WhatsApp app, shared by the API and the console.

Each returns a queryset that already joins what its representation needs, so that a list costs
one query whatever its length (tests/api assert it).
"""

from __future__ import annotations

from django.db.models import F, OuterRef, QuerySet, Subquery

from whatsapp.models import Contact, WhatsAppMedia, WhatsAppMessage

RECENT_CONVERSATION_LENGTH = 20


def message_list(*, direction: str | None = None) -> QuerySet[WhatsAppMessage]:
    """Messages with their contact's ids, their media's id (LEFT JOIN) and the id of the message
    they refer to (`context_pk`, a correlated subquery on the unique wamid): no extra query."""
    referred = WhatsAppMessage.objects.filter(wamid=OuterRef("context_wamid")).values("pk")[:1]
    queryset = WhatsAppMessage.objects.select_related("contact").annotate(
        media_pk=F("media__id"), context_pk=Subquery(referred)
    )
    if direction is not None:
        queryset = queryset.filter(direction=direction)
    return queryset


def contact_list() -> QuerySet[Contact]:
    return Contact.objects.all()


def contact_recent_messages(
    *, contact: Contact, limit: int = RECENT_CONVERSATION_LENGTH
) -> list[WhatsAppMessage]:
    """The contact's latest messages, newest first (served by `msg_contact_idx`)."""
    return list(message_list().filter(contact=contact).order_by("-timestamp", "-id")[:limit])


def media_list() -> QuerySet[WhatsAppMedia]:
    return WhatsAppMedia.objects.all()


def media_downloadable() -> QuerySet[WhatsAppMedia]:
    """Media whose bytes are in storage."""
    return WhatsAppMedia.objects.filter(state=WhatsAppMedia.State.STORED).exclude(file="")


def contacts_count() -> int:
    """The current organization's contacts (billing's `contacts` limit counts them)."""
    return Contact.objects.count()
