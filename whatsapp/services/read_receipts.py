"""Read receipts: tell the customer we read their message (blue ticks, Meta: mark-as-read).

Synchronous by design: one idempotent Graph call with the client's timeout, whose result the
API caller wants to know. It is retried briefly for transient errors (INTERACTIVE policy: the
user is waiting) and otherwise reported as an error. Marking a message read also marks the
earlier messages of that chat read at Meta.

Meta pages:
- mark-as-read: https://developers.facebook.com/documentation/business-messaging/whatsapp/messages/mark-message-as-read/
"""

from __future__ import annotations

import logging

from django.utils import timezone

from tenants.access import current_org_id
from tenants.errors import CredentialInvalidError, CredentialMissingError
from whatsapp.errors import SendingHaltedError, WhatsAppDomainError
from whatsapp.graph.errors import GraphAuthError, GraphError
from whatsapp.graph.retry import INTERACTIVE_RETRY_POLICY, call_with_retry
from whatsapp.models import WhatsAppMessage
from whatsapp.services.meta_access import graph_client_for_org, sending_halt

logger = logging.getLogger(__name__)


class NotAnIncomingMessageError(WhatsAppDomainError):
    """Only a message the customer sent can be marked read."""

    code = "not_incoming"
    http_status = 400


class MarkReadFailedError(WhatsAppDomainError):
    """Meta refused or did not answer the read receipt."""

    code = "mark_read_failed"
    http_status = 502


def message_mark_read(
    *, message: WhatsAppMessage, typing_indicator: bool = False
) -> WhatsAppMessage:
    """Send the read receipt for an incoming message of the current tenant; sets `read_at`.

    Raises NotAnIncomingMessageError, SendingHaltedError (the org's token is invalid) or
    MarkReadFailedError (Meta's code and message kept).
    """
    if message.direction != WhatsAppMessage.Direction.INCOMING or not message.wamid:
        raise NotAnIncomingMessageError(
            "Only an incoming message can be marked as read.", field="id"
        )
    org_id = current_org_id()
    client = graph_client_for_org(org_id)
    try:
        call_with_retry(
            lambda: client.mark_as_read(
                message.phone_number_id, message.wamid, typing_indicator=typing_indicator
            ),
            INTERACTIVE_RETRY_POLICY,
            max_sleep=5.0,
        )
    except (GraphAuthError, CredentialInvalidError, CredentialMissingError) as exc:
        if isinstance(exc, GraphAuthError):  # rejected even after the one refresh: halt
            sending_halt(org_id=org_id, reason=f"token rejected: {exc}")
        raise SendingHaltedError(
            "This organization's WhatsApp access token is invalid; connect a new one."
        ) from exc
    except GraphError as exc:
        logger.warning("read receipt failed: message=%s code=%s", message.pk, exc.code)
        raise MarkReadFailedError(
            f"Meta refused the read receipt ({exc.code}): {exc.message}"
        ) from exc
    now = timezone.now()
    WhatsAppMessage.objects.filter(pk=message.pk, read_at__isnull=True).update(
        read_at=now, updated_at=now
    )
    message.refresh_from_db()
    logger.info("read receipt sent: message=%s", message.pk)
    return message
