"""Tenant-schema models: each organization's contacts, messages and media."""

from whatsapp.models.contacts import Contact
from whatsapp.models.media import WhatsAppMedia
from whatsapp.models.messages import WhatsAppMessage

__all__ = ["Contact", "WhatsAppMedia", "WhatsAppMessage"]
