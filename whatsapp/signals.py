"""The one signal the product promises: a queued outgoing WhatsAppMessage,
however it was created (API, admin, ORM), is sent by the sending task.

The handler only calls `messages_enqueue`, which publishes after the transaction commits (the
worker must see the row) in the schema current at save time, and calls no Graph API. Rows made
with `bulk_create` skip this signal: their creator calls `messages_enqueue` with the ids.
"""

from __future__ import annotations

from django.db.models.signals import post_save
from django.dispatch import receiver

from whatsapp.models import WhatsAppMessage
from whatsapp.services.outbound.enqueue import messages_enqueue


@receiver(post_save, sender=WhatsAppMessage, dispatch_uid="whatsapp_send_queued_outgoing")
def send_queued_outgoing_message(
    sender: type[WhatsAppMessage], instance: WhatsAppMessage, created: bool, **kwargs
) -> None:
    if not created or kwargs.get("raw"):
        return
    if not instance.is_outgoing or instance.status != WhatsAppMessage.Status.QUEUED:
        return
    messages_enqueue(message_ids=[instance.pk])
