"""The bot end to end: the sandbox's customer writes, the webhook worker stores the message,
the real Celery worker takes the bot's turn, and the replies reach the sandbox through the
outbound pipeline."""

from __future__ import annotations

import pytest

from tests.chatbot.conftest import configure, rule, texts, wait_texts, wait_turns
from tests.conftest import in_tenant, wait_for
from whatsapp.chatbot.models import ChatbotTurn
from whatsapp.models import WhatsAppMessage

pytestmark = pytest.mark.integration

CUSTOMER = "15557770001"


def test_keyword_and_regex_rules_reply_once_each(bot_a, sandbox, org_a):
    rule(org_a, match_kind="contains", pattern="horário", reply={"body": "We open 9-18."})
    rule(
        org_a,
        match_kind="regex",
        pattern=r"^order\s*#?(\d{4,})$",
        reply={"body": "Looking up your order."},
        priority=50,
    )
    configure(org_a, fallback_text="Sorry, I did not get that.")
    sandbox.customer_sends_text(bot_a.phone_number_id, CUSTOMER, "Qual o HORARIO?")
    assert wait_texts(sandbox, bot_a, CUSTOMER, 1) == ["We open 9-18."]
    sandbox.customer_sends_text(bot_a.phone_number_id, CUSTOMER, "Order #12345")
    # One at a time: the sender pool sends in parallel, so two replies may reach Meta swapped.
    wait_texts(sandbox, bot_a, CUSTOMER, 2)
    sandbox.customer_sends_text(bot_a.phone_number_id, CUSTOMER, "blah")
    wait_texts(sandbox, bot_a, CUSTOMER, 3)
    assert texts(sandbox, bot_a, CUSTOMER)[1:] == [
        "Looking up your order.",
        "Sorry, I did not get that.",
    ]
    turns = wait_turns(org_a, 3)
    assert [t.action for t in turns] == ["rule", "rule", "fallback"]


def test_redelivery_and_replay_produce_no_second_reply(bot_a, sandbox, org_a):
    from django.core.management import call_command

    from tenants.models import WebhookChange

    rule(org_a, pattern="hi", reply={"body": "Hello!"})
    sent = sandbox.customer_sends_text(bot_a.phone_number_id, CUSTOMER, "hi")
    assert wait_texts(sandbox, bot_a, CUSTOMER, 1) == ["Hello!"]
    # Meta redelivers the message in another envelope (a new event) ...
    sandbox.post_raw_webhook(dict(sent["payload"], redelivery=1))
    came_back(org_a, times=1)
    # ... and staff replay every change.
    WebhookChange.objects.update(state=WebhookChange.State.FAILED)
    call_command("replay_webhooks", "--state", "failed")
    came_back(org_a, times=2)
    sandbox.customer_sends_text(bot_a.phone_number_id, CUSTOMER, "hi")
    wait_texts(sandbox, bot_a, CUSTOMER, 2)
    assert texts(sandbox, bot_a, CUSTOMER) == ["Hello!", "Hello!"]
    with in_tenant(org_a):
        assert ChatbotTurn.objects.count() == 2
        assert WhatsAppMessage.objects.filter(direction="outgoing").count() == 2


def came_back(org, *, times: int) -> None:
    def seen():
        """the bot's task saw the message again and sent nothing"""
        with in_tenant(org):
            return ChatbotTurn.objects.filter(repeats__gte=times).exists()

    wait_for(seen)
