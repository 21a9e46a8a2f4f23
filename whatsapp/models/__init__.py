"""Tenant-schema models: each organization's contacts, messages and media."""

from whatsapp.models.contacts import Contact, ContactIdentityChange, ContactMerge
from whatsapp.models.inbox import ContactTag, Conversation, ConversationNote
from whatsapp.models.media import WhatsAppMedia
from whatsapp.models.messages import WhatsAppMessage
from whatsapp.models.statuses import PendingStatus

__all__ = [
    "Contact",
    "ContactIdentityChange",
    "ContactMerge",
    "ContactTag",
    "Conversation",
    "ConversationNote",
    "PendingStatus",
    "WhatsAppMedia",
    "WhatsAppMessage",
]
