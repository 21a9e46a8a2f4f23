"""Bot replies and the 24-hour customer service window, end to end (sandbox -> webhook worker
-> Celery worker -> outbound pipeline -> sandbox). A message Meta delivers a day late (it keeps
retrying an undelivered webhook for days) finds the window closed: only a template may be sent
(https://developers.facebook.com/docs/whatsapp/pricing#customer-service-windows), so the rule's
template goes instead, or the reply is skipped and the turn says why."""

from __future__ import annotations

import time

import pytest

from tests.chatbot.conftest import replies_to, rule, texts, wait_texts, wait_turns
from tests.conftest import in_tenant
from whatsapp.chatbot.models import ChatbotTurn
from whatsapp.models import WhatsAppMessage

pytestmark = pytest.mark.integration

CUSTOMER = "15557770011"
OTHER = "15557770012"
BACK_SOON = {"name": "back_soon", "language": {"code": "en_US"}}


def test_a_closed_window_gets_the_rules_template_or_nothing(bot_a, sandbox, org_a):
    sandbox.create_template(
        BACK_SOON["name"],
        waba_id=f"9{bot_a.phone_number_id}",
        components=[{"type": "BODY", "text": "Sorry for the wait: write to us again."}],
    )
    rule(org_a, pattern="hi", reply={"body": "Hello!"}, window_template=BACK_SOON)
    rule(org_a, pattern="price", reply={"body": "Prices: ..."})
    a_day_ago = time.time() - 25 * 3600
    hi = sandbox.customer_sends_text(bot_a.phone_number_id, CUSTOMER, "hi", timestamp=a_day_ago)
    price = sandbox.customer_sends_text(bot_a.phone_number_id, OTHER, "price", timestamp=a_day_ago)
    assert wait_texts(sandbox, bot_a, CUSTOMER, 1) == ["template"]
    (sent,) = replies_to(sandbox, bot_a, CUSTOMER)
    assert sent["body"]["template"]["name"] == "back_soon"
    wait_turns(org_a, 2)
    with in_tenant(org_a):
        answered = ChatbotTurn.objects.get(inbound_wamid=hi["message"]["id"])
        skipped = ChatbotTurn.objects.get(inbound_wamid=price["message"]["id"])
        outgoing = list(WhatsAppMessage.objects.filter(direction="outgoing"))
    assert (answered.action, answered.replies) == ("rule", 1)
    assert [(s["reason"], s["instead"]) for s in answered.skipped] == [
        ("outside_customer_window", "window_template")
    ]
    assert (skipped.action, skipped.replies) == ("rule", 0)
    assert [(s["reply"], s["reason"]) for s in skipped.skipped] == [(0, "outside_customer_window")]
    assert "instead" not in skipped.skipped[0]
    assert [(m.type, m.pk) for m in outgoing] == [("template", answered.reply_ids[0])]
    assert texts(sandbox, bot_a, OTHER) == []
