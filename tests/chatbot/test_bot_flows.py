"""Menus, human takeover, welcome/away notices, the loop cut-off and tenant isolation, end to
end (sandbox customer -> webhook worker -> Celery worker -> outbound pipeline -> sandbox)."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from tests.chatbot.conftest import configure, rule, texts, wait_texts, wait_turns
from tests.clients import admin_client
from tests.conftest import in_tenant, wait_for
from whatsapp.chatbot.models import ChatbotConversation, ChatbotTurn
from whatsapp.models import Contact, WhatsAppMessage

pytestmark = pytest.mark.integration

CUSTOMER = "15557770002"
MENU = {
    "body": "How can we help?",
    "buttons": [{"id": "sales", "title": "Sales"}, {"id": "support", "title": "Support"}],
}


def tap(sandbox, sender, button_id: str, title: str) -> None:
    sandbox.customer_sends(
        sender.phone_number_id,
        CUSTOMER,
        "interactive",
        type="button_reply",
        button_reply={"id": button_id, "title": title},
    )


def test_a_two_level_menu_and_the_cancel_word(bot_a, sandbox, org_a):
    rule(org_a, pattern="menu", reply_kind="buttons", reply=MENU, next_step="main")
    rule(
        org_a,
        step="main",
        match_kind="interactive_id",
        pattern="support",
        reply_kind="list",
        reply={
            "body": "Which product?",
            "button": "Products",
            "sections": [
                {
                    "title": "Products",
                    "rows": [{"id": "p1", "title": "Phone"}, {"id": "p2", "title": "Tablet"}],
                }
            ],
        },
        next_step="support",
    )
    rule(
        org_a,
        step="support",
        match_kind="interactive_id",
        pattern="p2",
        reply={"body": "Tablet help: ..."},
    )
    rule(org_a, match_kind="interactive_id", pattern="p2", reply={"body": "Not in the menu now."})
    configure(org_a, cancel_words=["sair"], fallback_text="?")
    sandbox.customer_sends_text(bot_a.phone_number_id, CUSTOMER, "Menu")
    wait_texts(sandbox, bot_a, CUSTOMER, 1)
    tap(sandbox, bot_a, "support", "Support")
    wait_texts(sandbox, bot_a, CUSTOMER, 2)
    sandbox.customer_sends(
        bot_a.phone_number_id,
        CUSTOMER,
        "interactive",
        type="list_reply",
        list_reply={"id": "p2", "title": "Tablet"},
    )
    wait_texts(sandbox, bot_a, CUSTOMER, 3)
    # A finished flow leaves its step; the same id outside the menu hits the top-level rule.
    sandbox.customer_sends_text(bot_a.phone_number_id, CUSTOMER, "menu")
    wait_texts(sandbox, bot_a, CUSTOMER, 4)
    sandbox.customer_sends_text(bot_a.phone_number_id, CUSTOMER, "SAIR")
    wait_turns(org_a, 5)
    sandbox.customer_sends(
        bot_a.phone_number_id,
        CUSTOMER,
        "interactive",
        type="list_reply",
        list_reply={"id": "p2", "title": "Tablet"},
    )
    wait_texts(sandbox, bot_a, CUSTOMER, 5)
    assert texts(sandbox, bot_a, CUSTOMER) == [
        "interactive:How can we help?",
        "interactive:Which product?",
        "Tablet help: ...",
        "interactive:How can we help?",
        "Not in the menu now.",
    ]
    with in_tenant(org_a):
        actions = list(ChatbotTurn.objects.order_by("id").values_list("action", flat=True))
    assert actions == ["rule", "step", "step", "rule", "step_cancelled", "rule"]


def test_an_agent_reply_takes_over_until_released(bot_a, sandbox, org_a):
    rule(org_a, pattern="hi", reply={"body": "Bot here."})
    sandbox.customer_sends_text(bot_a.phone_number_id, CUSTOMER, "hi")
    assert wait_texts(sandbox, bot_a, CUSTOMER, 1) == ["Bot here."]
    client = admin_client(org_a)  # a person (JWT) replies through the API
    answer = client.post(
        "/api/v1/messages/send/",
        {"to": CUSTOMER, "type": "text", "text": {"body": "Agent Ana here."}},
        content_type="application/json",
    )
    assert answer.status_code == 202, answer.content
    wait_texts(sandbox, bot_a, CUSTOMER, 2)
    sandbox.customer_sends_text(bot_a.phone_number_id, CUSTOMER, "hi")
    assert wait_turns(org_a, 2)[-1].action == "takeover"
    with in_tenant(org_a):
        contact = Contact.objects.get(wa_id=CUSTOMER)
    released = client.post(
        "/api/v1/chatbot/takeover/release/",
        {"contact_id": contact.pk},
        content_type="application/json",
    )
    assert released.status_code == 204
    sandbox.customer_sends_text(bot_a.phone_number_id, CUSTOMER, "hi")
    wait_texts(sandbox, bot_a, CUSTOMER, 3)
    assert texts(sandbox, bot_a, CUSTOMER) == ["Bot here.", "Agent Ana here.", "Bot here."]


def test_the_takeover_lock_expires_by_itself(bot_a, sandbox, org_a):
    rule(org_a, pattern="hi", reply={"body": "Bot here."})
    rule(org_a, pattern="talk to a person", reply_kind="handoff", reply={"body": "Connecting you."})
    sandbox.customer_sends_text(bot_a.phone_number_id, CUSTOMER, "Talk to a PERSON")
    assert wait_texts(sandbox, bot_a, CUSTOMER, 1) == ["Connecting you."]
    sandbox.customer_sends_text(bot_a.phone_number_id, CUSTOMER, "hi")
    assert wait_turns(org_a, 2)[-1].action == "takeover"
    with in_tenant(org_a):  # N hours later
        ChatbotConversation.objects.update(takeover_until=timezone.now() - timedelta(seconds=1))
    sandbox.customer_sends_text(bot_a.phone_number_id, CUSTOMER, "hi")
    assert wait_texts(sandbox, bot_a, CUSTOMER, 2) == ["Connecting you.", "Bot here."]


def _hours_around_now(tz: str, *, open_now: bool) -> dict:
    """Every day one range, crossing midnight in local time when `now` is inside (open) or just
    outside it (closed)."""
    local = timezone.now().astimezone(ZoneInfo(tz))
    before, after = (
        (local - timedelta(hours=1)).strftime("%H:%M"),
        (local + timedelta(hours=1)).strftime("%H:%M"),
    )
    pair = [before, after] if open_now else [after, before]
    return {day: [pair] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


def test_welcome_and_away_are_sent_once_per_period_in_the_org_time_zone(bot_a, sandbox, org_a):
    tz = "Asia/Kolkata"  # UTC+05:30
    configure(
        org_a,
        time_zone=tz,
        business_hours=_hours_around_now(tz, open_now=False),
        welcome_text="Welcome!",
        away_text="We are closed now.",
        fallback_text="Noted.",
    )
    sandbox.customer_sends_text(bot_a.phone_number_id, CUSTOMER, "hello")
    wait_texts(sandbox, bot_a, CUSTOMER, 3)
    sandbox.customer_sends_text(bot_a.phone_number_id, CUSTOMER, "anyone?")
    wait_texts(sandbox, bot_a, CUSTOMER, 4)
    configure(org_a, business_hours=_hours_around_now(tz, open_now=True))
    with in_tenant(org_a):  # the period passed
        ChatbotConversation.objects.update(
            welcomed_at=timezone.now() - timedelta(days=2),
            away_sent_at=timezone.now() - timedelta(days=2),
        )
    sandbox.customer_sends_text(bot_a.phone_number_id, CUSTOMER, "back")
    wait_texts(sandbox, bot_a, CUSTOMER, 6)
    with in_tenant(org_a):  # in the order the bot wrote them (the sender pool sends in parallel)
        written = list(
            WhatsAppMessage.objects.filter(direction="outgoing")
            .order_by("id")
            .values_list("text", flat=True)
        )
    assert written == [
        "Welcome!",
        "We are closed now.",
        "Noted.",
        "Noted.",
        "Welcome!",
        "Noted.",
    ]


def test_a_bot_to_bot_loop_is_cut_off(bot_a, sandbox, org_a):
    configure(org_a, fallback_text="Please choose an option.", max_replies_per_minute=3)
    for n in range(6):  # another bot answers every reply with a message of its own
        sandbox.customer_sends_text(bot_a.phone_number_id, CUSTOMER, f"I did not understand {n}")
    turns = wait_turns(org_a, 6)
    assert [t.action for t in turns].count("fallback") == 3
    assert [t.action for t in turns][3:] == ["loop_cut"] * 3
    with in_tenant(org_a):  # the cut turns created nothing to send
        assert WhatsAppMessage.objects.filter(direction="outgoing").count() == 3
    assert len(wait_texts(sandbox, bot_a, CUSTOMER, 3)) == 3


def test_rules_of_one_organization_never_answer_another(bot_a, bot_b, sandbox, org_a, org_b):
    rule(org_a, pattern="price", reply={"body": "Alpha prices."})
    sandbox.customer_sends_text(bot_b.phone_number_id, CUSTOMER, "price")
    sandbox.customer_sends_text(bot_a.phone_number_id, CUSTOMER, "price")
    assert wait_texts(sandbox, bot_a, CUSTOMER, 1) == ["Alpha prices."]

    def beta_turn():
        """beta's bot took its turn"""
        with in_tenant(org_b):
            return list(ChatbotTurn.objects.all())

    (turn,) = wait_for(beta_turn)
    assert turn.action == "none"
    assert texts(sandbox, bot_b, CUSTOMER) == []
    with in_tenant(org_a):  # alpha's bot never saw beta's message
        assert (
            ChatbotTurn.objects.exclude(message__phone_number_id=bot_a.phone_number_id).count() == 0
        )
    response = admin_client(org_b).get("/api/v1/chatbot/rules/")
    assert response.status_code == 200 and response.json() == []


def test_stop_opts_the_contact_out_and_confirms_once(bot_a, sandbox, org_a):
    rule(org_a, pattern="stop", reply={"body": "A rule never sees STOP."})
    configure(org_a, opt_out_words=["PARAR"], opt_out_confirmation="Done: no more offers.")
    sandbox.customer_sends_text(bot_a.phone_number_id, CUSTOMER, "Stop")
    assert wait_texts(sandbox, bot_a, CUSTOMER, 1) == ["Done: no more offers."]
    sandbox.customer_sends_text(bot_a.phone_number_id, CUSTOMER, "parar")
    assert [t.action for t in wait_turns(org_a, 2)] == ["opt_out", "opt_out"]
    with in_tenant(org_a):
        contact = Contact.objects.get(wa_id=CUSTOMER)
        assert contact.opted_out_at is not None
        assert contact.opt_out_source == "chatbot_opt_out_word"
    assert texts(sandbox, bot_a, CUSTOMER) == ["Done: no more offers."]


def test_a_catastrophic_regex_is_harmless(bot_a, sandbox, org_a):
    rule(org_a, match_kind="regex", pattern=r"^(a+)+$", reply={"body": "all a"})
    configure(org_a, fallback_text="Not all a.")
    sandbox.customer_sends_text(bot_a.phone_number_id, CUSTOMER, "a" * 3000 + "!")
    assert wait_texts(sandbox, bot_a, CUSTOMER, 1) == ["Not all a."]
