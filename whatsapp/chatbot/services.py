"""The chatbot's services: settings, the turn for each inbound message, takeover.

`chatbot_messages_handle` runs in a Celery task enqueued (after commit, in the tenant) by the
`messages` webhook handler for every batch that stored inbound messages. Per message, inside
one transaction holding the conversation's row lock:
- a `ChatbotTurn` unique on the inbound wamid is the idempotency key: a message redelivered by
  Meta or replayed by staff finds its turn and gets nothing more;
- `whatsapp.chatbot.engine.decide` says what to do; its replies are ordinary outbound messages
  (`whatsapp.chatbot.replies.replies_send`: the one creation path, an idempotency key per
  reply), so they respect the 24-hour window (a rule's template instead when it is closed) and
  count in usage; a refused reply is recorded on the turn, never a crash.
Meta: https://developers.facebook.com/docs/whatsapp/cloud-api/webhooks/components
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import F, Sum
from django.utils import timezone

from saas_platform.queue import enqueue_on_commit
from tenants.crypto import decrypt_secret, encrypt_secret
from tenants.services.schedule import schedule_get
from whatsapp.chatbot.engine import Decision, State, decide
from whatsapp.chatbot.hours import DAYS
from whatsapp.chatbot.matching import Incoming
from whatsapp.chatbot.models import (
    ChatbotConversation,
    ChatbotRule,
    ChatbotSettings,
    ChatbotTurn,
    ExternalBotDelivery,
)
from whatsapp.chatbot.replies import replies_send
from whatsapp.models import Contact, WhatsAppMessage
from whatsapp.services.outbound.rules import current_organization

logger = logging.getLogger(__name__)

DELIVER_TASK = "whatsapp.chatbot.tasks.external_bot_deliver_task"


def settings_get() -> ChatbotSettings:
    """The organization's chatbot settings (created with defaults on first use)."""
    settings, _ = ChatbotSettings.objects.get_or_create(pk=1)
    return settings


def settings_secret_set(*, settings: ChatbotSettings, secret: str) -> None:
    """Store the external bot's signing secret encrypted, sealed to this organization."""
    owner = str(current_organization().pk)
    settings.external_bot_secret_encrypted = encrypt_secret(secret, owner=owner) if secret else ""


@transaction.atomic
def settings_update(*, settings: ChatbotSettings, data: dict[str, Any]) -> ChatbotSettings:
    """Save validated settings fields (`data` as the settings serializer validated them); an
    `external_bot_secret` is stored encrypted ("" removes it), never as given."""
    data = dict(data)
    secret = data.pop("external_bot_secret", None)
    for field, value in data.items():
        setattr(settings, field, value)
    if secret is not None:
        settings_secret_set(settings=settings, secret=secret)
    settings.save()
    return settings


def settings_secret(settings: ChatbotSettings) -> str:
    if not settings.external_bot_secret_encrypted:
        return ""
    owner = str(current_organization().pk)
    return decrypt_secret(settings.external_bot_secret_encrypted, owner=owner)


def organization_time_zone() -> str:
    """The organization's own time zone when the organization model has one (the web app's
    settings), else "" (the chatbot settings' `time_zone`, or UTC, applies)."""
    return str(getattr(current_organization(), "time_zone", "") or "")


def organization_hours() -> dict[str, list[list[str]]]:
    """The organization's business hours of the web app's settings
    (`tenants.services.schedule`) in the chatbot's shape, `{"mon": [["09:00", "17:00"]]}`;
    {} when it has none. The bot uses them when its own settings name no hours."""
    hours: dict[str, list[list[str]]] = {}
    for interval in schedule_get(organization=current_organization()):
        day = hours.setdefault(DAYS[interval.weekday], [])
        day.append([interval.opens_at.strftime("%H:%M"), interval.closes_at.strftime("%H:%M")])
    return hours


def incoming_of(message: WhatsAppMessage) -> Incoming:
    """The bot's view of a stored inbound message (text, or a button/list reply's id+title)."""
    raw = message.raw or {}
    interactive_id = ""
    text = message.text or ""
    if message.type == "interactive":
        data = raw.get("interactive") or {}
        reply = data.get(data.get("type") or "") or {}
        interactive_id = str(reply.get("id") or "")
        text = text or str(reply.get("title") or "")
    elif message.type == "button":
        button = raw.get("button") or {}
        interactive_id = str(button.get("payload") or "")
        text = text or str(button.get("text") or "")
    return Incoming(type=message.type, text=text, interactive_id=interactive_id)


def _state(conversation: ChatbotConversation, contact: Contact, now) -> State:
    recent = ChatbotTurn.objects.filter(
        conversation=conversation, created_at__gt=now - timedelta(minutes=1)
    ).aggregate(n=Sum("replies"))["n"]
    return State(
        step=conversation.step,
        step_expires_at=conversation.step_expires_at,
        takeover_until=conversation.takeover_until,
        welcomed_at=conversation.welcomed_at,
        away_sent_at=conversation.away_sent_at,
        opted_out=contact.opted_out_at is not None,
        replies_last_minute=recent or 0,
    )


def conversation_locked(*, contact: Contact, phone_number_id: str) -> ChatbotConversation:
    """The conversation's row, created if needed and locked until the transaction ends."""
    ChatbotConversation.objects.get_or_create(contact=contact, phone_number_id=phone_number_id)
    return ChatbotConversation.objects.select_for_update().get(
        contact=contact, phone_number_id=phone_number_id
    )


def chatbot_messages_handle(*, wamids: list[str]) -> str:
    """Give each inbound message of `wamids` its one bot turn (see the module). Returns a
    short outcome, e.g. "turns 2, replies 3, skipped 1"."""
    settings = settings_get()
    messages = WhatsAppMessage.objects.filter(
        wamid__in=wamids, direction=WhatsAppMessage.Direction.INCOMING
    ).order_by("timestamp", "id")
    rules = list(ChatbotRule.objects.filter(enabled=True).order_by("priority", "id"))
    org_hours = {} if settings.business_hours else organization_hours()
    turns = replies = skipped = 0
    for message in messages:
        made = _turn_take(message=message, settings=settings, rules=rules, org_hours=org_hours)
        if made is None:
            skipped += 1
        else:
            turns += 1
            replies += made
    return f"turns {turns}, replies {replies}, skipped {skipped}"


@transaction.atomic
def _turn_take(
    *, message: WhatsAppMessage, settings: ChatbotSettings, rules, org_hours: dict
) -> int | None:
    # The conversation's lock orders the turns of one conversation; the contact row is not
    # locked (the webhook worker updates it for every message of that customer).
    contact = Contact.objects.get(pk=message.contact_id)
    conversation = conversation_locked(contact=contact, phone_number_id=message.phone_number_id)
    if ChatbotTurn.objects.filter(inbound_wamid=message.wamid).update(repeats=F("repeats") + 1):
        return None  # redelivered or replayed: this message had its turn
    now = timezone.now()
    decision = decide(
        incoming=incoming_of(message),
        phone_number_id=message.phone_number_id,
        settings=settings,
        rules=rules,
        state=_state(conversation, contact, now),
        now=now,
        time_zone=organization_time_zone(),
        org_hours=org_hours,
    )
    turn = ChatbotTurn.objects.create(
        inbound_wamid=message.wamid,
        message=message,
        conversation=conversation,
        action=decision.action,
        rule_id=decision.rule_id,
        detail=decision.detail[:255],
    )
    _decision_apply(decision, conversation=conversation, contact=contact, settings=settings)
    sent = replies_send(
        turn=turn,
        replies=decision.replies,
        contact=contact,
        key="r",
        window_template=decision.window_template,
    )
    if decision.call_external_bot and settings.external_bot_url:
        delivery = ExternalBotDelivery.objects.create(turn=turn, url=settings.external_bot_url)
        enqueue_on_commit(DELIVER_TASK, args=[delivery.pk])
    logger.info("chatbot turn: message=%s action=%s replies=%d", message.pk, decision.action, sent)
    return sent


def _decision_apply(
    decision: Decision,
    *,
    conversation: ChatbotConversation,
    contact: Contact,
    settings: ChatbotSettings,
) -> None:
    now = timezone.now()
    if decision.opt_out:
        Contact.objects.filter(pk=contact.pk, opted_out_at__isnull=True).update(
            opted_out_at=now, opt_out_source="chatbot_opt_out_word", updated_at=now
        )
    if decision.step is not None:
        conversation.step = decision.step
        conversation.step_expires_at = (
            now + timedelta(minutes=settings.session_minutes) if decision.step else None
        )
    if decision.takeover:
        conversation.takeover_until = now + timedelta(hours=settings.takeover_hours)
        conversation.takeover_reason = "rule"
    if decision.welcomed:
        conversation.welcomed_at = now
    if decision.away:
        conversation.away_sent_at = now
    conversation.save()


def conversation_takeover(*, contact: Contact, phone_number_id: str, reason: str) -> None:
    """Lock the conversation for a person: the bot stays quiet for `takeover_hours`."""
    hours = settings_get().takeover_hours
    with transaction.atomic():
        conversation = conversation_locked(contact=contact, phone_number_id=phone_number_id)
        conversation.takeover_until = timezone.now() + timedelta(hours=hours)
        conversation.takeover_reason = reason[:40]
        conversation.step = ""
        conversation.save()


def conversation_release(*, contact: Contact, phone_number_id: str | None = None) -> int:
    """A member hands the conversation(s) of `contact` back to the bot; returns how many."""
    conversations = ChatbotConversation.objects.filter(contact=contact)
    if phone_number_id:
        conversations = conversations.filter(phone_number_id=phone_number_id)
    return conversations.update(takeover_until=None, takeover_reason="", updated_at=timezone.now())


def member_reply_hook(*, message: WhatsAppMessage, user: Any) -> None:
    """Outbound hook (settings `WHATSAPP_OUTBOUND_USER_HOOKS`): a member's own reply (a signed-in
    person, not an API key or the bot) takes the conversation over."""
    if not isinstance(user, get_user_model()):  # an API key (an integration), or nobody
        return
    if message.contact_id is None or message.type == "template":
        return
    conversation_takeover(
        contact=message.contact, phone_number_id=message.phone_number_id, reason="member_reply"
    )


def rules_reorder(*, ids: list[int]) -> list[ChatbotRule]:
    """Priorities 10, 20, ... for the rules `ids`, in that order (unknown ids are ignored).
    Returns every rule in the new order."""
    with transaction.atomic():
        rules = {r.pk: r for r in ChatbotRule.objects.select_for_update().filter(pk__in=ids)}
        for position, pk in enumerate(dict.fromkeys(ids)):
            if pk in rules:
                rules[pk].priority = (position + 1) * 10
        ChatbotRule.objects.bulk_update(list(rules.values()), ["priority", "updated_at"])
    return list(ChatbotRule.objects.order_by("priority", "id"))


def chatbot_simulate(
    *,
    text: str,
    message_type: str,
    interactive_id: str,
    contact: Contact | None,
    phone_number_id: str,
    now,
    step: str | None = None,
) -> Decision:
    """What the bot would do with this message, from this contact's current state (a fresh
    conversation without one), or in menu `step` when given ("" for none: the simulator
    walks a menu that way). Nothing is written or sent; an external bot is not called."""
    state = State()
    if contact is not None:
        conversations = ChatbotConversation.objects.filter(contact=contact)
        if phone_number_id:
            conversations = conversations.filter(phone_number_id=phone_number_id)
        conversation = conversations.order_by("-updated_at").first()
        if conversation is not None:
            state = _state(conversation, contact, now)
        else:
            state = State(opted_out=contact.opted_out_at is not None)
    if step is not None:
        state = replace(state, step=step, step_expires_at=None)
    return decide(
        incoming=Incoming(type=message_type, text=text, interactive_id=interactive_id),
        phone_number_id=phone_number_id,
        settings=settings_get(),
        rules=list(ChatbotRule.objects.filter(enabled=True).order_by("priority", "id")),
        state=state,
        now=now,
        time_zone=organization_time_zone(),
        org_hours=organization_hours(),
    )
