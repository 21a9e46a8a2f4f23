"""Fixtures of the chatbot tests: both session organizations connected to the sandbox, rule
and settings helpers, and waiting for the bot's replies as the sandbox received them.

Integration tests run the whole path: the sandbox posts a customer's message to the platform
server, the session's webhook worker stores it, the real Celery worker runs the bot's task, and
its replies go through the outbound pipeline back to the sandbox.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import OrgFixture, in_tenant, wait_for
from tests.outbound.conftest import Sender, connect
from whatsapp.chatbot.models import ChatbotRule, ChatbotSettings, ChatbotTurn


@pytest.fixture
def bot_a(live_db, org_a, sandbox, settings, webhook_worker, celery_worker) -> Sender:
    settings.WHATSAPP_SEND_RETRY_BASE_DELAY = 0.05
    settings.WHATSAPP_SEND_RETRY_MAX_DELAY = 0.5
    sender = connect(org_a)
    sandbox.register_phone_number(sender.phone_number_id, waba_id=f"9{sender.phone_number_id}")
    return sender


@pytest.fixture
def bot_b(live_db, org_b, sandbox, webhook_worker, celery_worker) -> Sender:
    sender = connect(org_b)
    sandbox.register_phone_number(sender.phone_number_id, waba_id=f"9{sender.phone_number_id}")
    return sender


def rule(org: OrgFixture, **fields: Any) -> ChatbotRule:
    defaults = {"name": fields.get("pattern", "rule"), "match_kind": "exact", "reply_kind": "text"}
    with in_tenant(org):
        return ChatbotRule.objects.create(**(defaults | fields))


def configure(org: OrgFixture, **fields: Any) -> None:
    with in_tenant(org):
        ChatbotSettings.objects.update_or_create(pk=1, defaults=fields)


def replies_to(sandbox: Any, sender: Sender, wa_id: str) -> list[dict[str, Any]]:
    """What the sandbox accepted from the sender's number for `wa_id`, oldest first."""
    sent = [m for m in sandbox.sent_messages(sender.phone_number_id) if m.get("wa_id") == wa_id]
    return sorted(sent, key=lambda m: m["created_at"])


def texts(sandbox: Any, sender: Sender, wa_id: str) -> list[str]:
    out = []
    for message in replies_to(sandbox, sender, wa_id):
        body = message["body"]
        if body.get("type") == "text":
            out.append(body["text"]["body"])
        elif body.get("type") == "interactive":
            out.append("interactive:" + body["interactive"]["body"]["text"])
        else:
            out.append(body.get("type", "?"))
    return out


def wait_turns(org: OrgFixture, count: int, *, timeout: float = 20.0) -> list[ChatbotTurn]:
    def done():
        """the bot took its turns"""
        with in_tenant(org):
            turns = list(ChatbotTurn.objects.order_by("id"))
        return turns if len(turns) >= count else None

    return wait_for(done, timeout=timeout)


def wait_texts(sandbox: Any, sender: Sender, wa_id: str, count: int) -> list[str]:
    def done():
        """the sandbox received the bot's replies"""
        got = texts(sandbox, sender, wa_id)
        return got if len(got) >= count else None

    return wait_for(done, timeout=20.0)
