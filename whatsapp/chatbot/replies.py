"""The bot's replies as ordinary outbound messages, through the one creation path
(`whatsapp.services.outbound.message_create`): validated, stored `queued`, sent by the send
pipeline, checked against the 24-hour window and counted in usage like any other message.

Per reply, an idempotency key `chatbot:<inbound wamid>:<key><n>` makes a retried turn or
delivery create it at most once. A reply the outbound path refuses is skipped, never a crash,
and recorded on the turn (`ChatbotTurn.skipped`, with the refusal's machine code):
- the customer's window is closed (`outside_customer_window`): only a template may be sent
  (Meta: https://developers.facebook.com/docs/whatsapp/pricing#customer-service-windows), so
  the rule's `window_template` is sent instead, once per turn; without one, the reply is
  skipped;
- the plan's quota is spent (`billing_stub.quota.QuotaExceeded`, `quota_exceeded`);
- anything else the outbound rules refuse (invalid content, no sending number, a template not
  approved...), with its own code.
Template replies are built like the send API's (`whatsapp.message_templates.services.send`):
parameters filled into the stored, APPROVED template.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction

from billing_stub.quota import QuotaExceeded
from whatsapp.chatbot.engine import Reply
from whatsapp.chatbot.models import ChatbotTurn
from whatsapp.errors import OutsideCustomerWindowError, WhatsAppDomainError
from whatsapp.message_templates.services.send import template_send_content
from whatsapp.models import Contact, WhatsAppMessage
from whatsapp.services.outbound import message_create

logger = logging.getLogger(__name__)

REPLY_KEY_PREFIX = "chatbot:"
WINDOW_TEMPLATE_KEY = "t"


def _create(*, turn: ChatbotTurn, contact: Contact, reply: Reply, key: str) -> WhatsAppMessage:
    phone_number_id = turn.message.phone_number_id
    with transaction.atomic():  # a refusal rolls back this reply only
        content = reply.content
        if reply.type == "template":
            content = template_send_content(content=content, phone_number_id=phone_number_id)
        return message_create(
            to=contact.address,
            message_type=reply.type,
            content=content,
            phone_number_id=phone_number_id,
            idempotency_key=f"{REPLY_KEY_PREFIX}{turn.inbound_wamid}:{key}",
        )


def _refusal(index: int, reply: Reply, exc: Exception) -> dict[str, Any]:
    if isinstance(exc, QuotaExceeded):
        reason = "quota_exceeded"
    else:
        reason = str(getattr(exc, "code", "") or type(exc).__name__)
    return {"reply": index, "type": reply.type, "reason": reason, "message": str(exc)[:200]}


def replies_send(
    *,
    turn: ChatbotTurn,
    replies: tuple[Reply, ...],
    contact: Contact,
    key: str,
    window_template: dict[str, Any] | None = None,
) -> int:
    """Create each of `replies` as an outbound message for `contact` (see the module): refused
    ones are appended to `turn.skipped` (and named in `turn.detail`); `window_template`, when
    given, replaces the first reply refused for a closed window. Saves the turn. Returns how
    many messages were created."""
    created = 0
    ids = list(turn.reply_ids)
    skipped = list(turn.skipped or [])
    template_tried = False
    for index, reply in enumerate(replies):
        try:
            message = _create(turn=turn, contact=contact, reply=reply, key=f"{key}{index}")
        except OutsideCustomerWindowError as exc:
            refusal = _refusal(index, reply, exc)
            if window_template and not template_tried:
                template_tried = True
                template = Reply("template", window_template)
                try:
                    message = _create(
                        turn=turn, contact=contact, reply=template, key=WINDOW_TEMPLATE_KEY
                    )
                except (WhatsAppDomainError, QuotaExceeded) as template_exc:
                    refusal["instead"] = _refusal(index, template, template_exc)
                else:
                    refusal["instead"] = "window_template"
                    ids.append(message.pk)
                    created += 1
            skipped.append(refusal)
            continue
        except (WhatsAppDomainError, QuotaExceeded) as exc:
            skipped.append(_refusal(index, reply, exc))
            continue
        ids.append(message.pk)
        created += 1
    fresh = skipped[len(turn.skipped or []) :]
    for refusal in fresh:
        turn.detail = f"{turn.detail} | reply {refusal['reply']}: {refusal['reason']}"[-255:]
        logger.info(
            "chatbot reply skipped: turn=%s reply=%s reason=%s instead=%s",
            turn.pk,
            refusal["reply"],
            refusal["reason"],
            "window_template" if refusal.get("instead") == "window_template" else "-",
        )
    turn.reply_ids = ids
    turn.replies = turn.replies + created
    turn.skipped = skipped or None
    turn.save(update_fields=["reply_ids", "replies", "skipped", "detail"])
    return created
