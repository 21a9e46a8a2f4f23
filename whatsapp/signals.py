"""The one signal the product promises (house style §2): a queued outgoing WhatsAppMessage,
however it was created (API, admin, ORM, campaign), is sent by `send_message_task`.

The handler only enqueues, after the transaction commits (the worker must see the row), and
calls no Graph API. The tenant schema is captured now, at save time, and re-entered when the
commit hook runs: the hook may run after the code that created the row has left its
`schema_context` (e.g. an outer `transaction.atomic()` around it), and tenant-schemas-celery
records the schema that is current when the task is sent.
"""

from __future__ import annotations

from django.db import connection, transaction
from django.db.models.signals import post_save
from django.dispatch import receiver
from django_tenants.utils import schema_context

from whatsapp.models import WhatsAppMessage


@receiver(post_save, sender=WhatsAppMessage, dispatch_uid="whatsapp_send_queued_outgoing")
def send_queued_outgoing_message(
    sender: type[WhatsAppMessage], instance: WhatsAppMessage, created: bool, **kwargs
) -> None:
    if not created or kwargs.get("raw"):
        return
    if not instance.is_outgoing or instance.status != WhatsAppMessage.Status.QUEUED:
        return
    schema = connection.schema_name
    message_id = instance.pk

    def enqueue() -> None:
        from whatsapp.tasks.outbound import send_message_task

        with schema_context(schema):
            send_message_task.delay(message_id)

    transaction.on_commit(enqueue)
