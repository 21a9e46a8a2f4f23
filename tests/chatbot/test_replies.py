"""The bot's replies on the one outbound path, when that path refuses them: a plan's quota spent
(`billing_stub.quota.QuotaExceeded`) and content the outbound rules refuse are recorded on the
turn as skipped replies with the reason, never a crash of the batch. Rolled-back transactions,
no worker: the bot's service is called as its task would.

Unit boundary: `message_create` as the chatbot calls it is replaced by one that raises the
billing contract's `QuotaExceeded`, as the outbound path does once the plan's monthly messages
are spent (the metering lives in billing_stub and is tested there).
"""

from __future__ import annotations

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from billing_stub.quota import QuotaExceeded
from tests.factories import ContactFactory, IncomingMessageFactory
from tests.outbound.conftest import connect
from whatsapp.chatbot import replies
from whatsapp.chatbot.models import ChatbotRule, ChatbotSettings, ChatbotTurn
from whatsapp.chatbot.services import chatbot_messages_handle
from whatsapp.models import WhatsAppMessage


@pytest.fixture
def number(db, org_a):
    return connect(org_a).phone_number_id


def inbound(number: str, text: str) -> WhatsAppMessage:
    contact = ContactFactory(last_inbound_at=timezone.now())  # the message opened the window
    return IncomingMessageFactory(contact=contact, phone_number_id=number, text=text)


def test_a_spent_quota_skips_the_reply_and_says_why(number, org_a, monkeypatch):
    def quota_spent(**kwargs):
        raise QuotaExceeded(limit="outbound_messages_per_month", used=1000, allowed=1000)

    monkeypatch.setattr(replies, "message_create", quota_spent)
    with tenant_context(org_a.organization):
        ChatbotRule.objects.create(
            name="hi", match_kind="exact", pattern="hi", reply_kind="text", reply={"body": "Hi!"}
        )
        ChatbotSettings.objects.create(pk=1, welcome_text="Welcome!")
        first, second = inbound(number, "hi"), inbound(number, "hi")
        outcome = chatbot_messages_handle(wamids=[first.wamid, second.wamid])
        assert outcome == "turns 2, replies 0, skipped 0"  # both messages had their turn
        turn = ChatbotTurn.objects.get(inbound_wamid=first.wamid)
        assert (turn.action, turn.replies, turn.reply_ids) == ("rule", 0, [])
        assert [(s["reply"], s["type"], s["reason"]) for s in turn.skipped] == [
            (0, "text", "quota_exceeded"),  # the welcome
            (1, "text", "quota_exceeded"),  # the rule's reply
        ]
        assert "outbound_messages_per_month" in turn.skipped[0]["message"]
        assert "reply 1: quota_exceeded" in turn.detail
        assert not WhatsAppMessage.objects.filter(direction="outgoing").exists()


def test_a_refused_reply_is_skipped_and_the_others_still_go(number, org_a):
    with tenant_context(org_a.organization):
        ChatbotSettings.objects.create(pk=1, welcome_text="Welcome!")
        ChatbotRule.objects.create(  # saved past the API's checks: Meta refuses a bad link
            name="pic",
            match_kind="exact",
            pattern="pic",
            reply_kind="media",
            reply={"type": "image", "link": "not a url"},
        )
        message = inbound(number, "pic")
        assert chatbot_messages_handle(wamids=[message.wamid]) == "turns 1, replies 1, skipped 0"
        turn = ChatbotTurn.objects.get()
        assert [(s["reply"], s["reason"]) for s in turn.skipped] == [(1, "invalid_content")]
        (sent,) = WhatsAppMessage.objects.filter(direction="outgoing")
        assert (sent.text, turn.reply_ids) == ("Welcome!", [sent.pk])
