"""The chatbot pages in a real browser: build a two-level menu in the rule editor (the reply's
fields swapped in by htmx), follow a menu choice to the rule it leads to, walk the menu in the
simulator beside the rules (nothing sent), edit the menu and see the simulator follow; rules of
every kind, refused input kept in the form, on/off, order and delete; the settings (hours
across midnight, holidays, texts, the external bot's write-only secret), read-only for an
agent; the external bot's delivery log; another organization's rows never show."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tests.browser.conftest import check_page
from tests.browser.test_shell import sign_in
from tests.chatbot.conftest import rule, texts, wait_texts, wait_turns
from tests.conftest import in_tenant
from tests.factories import (
    ContactFactory,
    IncomingMessageFactory,
    MembershipFactory,
    UserFactory,
)
from tests.outbound.conftest import connect
from whatsapp.chatbot.models import (
    ChatbotConversation,
    ChatbotRule,
    ChatbotSettings,
    ChatbotTurn,
    ExternalBotDelivery,
)
from whatsapp.models import Conversation, WhatsAppMessage

pytestmark = pytest.mark.integration
HOUR = timedelta(hours=1)


def open_editor(page, web, org, path: str = "/chatbot/rules/new/") -> None:
    page.goto(web.url(org.host, path))
    page.get_by_role("heading", level=1).wait_for()


def fill_trigger(page, *, name: str, match: str, pattern: str) -> None:
    page.get_by_label("Rule name").fill(name)
    page.get_by_label("The message").select_option(match)
    page.get_by_label("Text, regex, button id or type").fill(pattern)


def fill_menu(page, *, kind: str, body: str, choices: str) -> None:
    choose_reply_kind(page, kind, "Menu text")
    page.get_by_label("Menu text").fill(body)
    page.get_by_label("Choices, one per line").fill(choices)


def choose_reply_kind(page, kind: str, field_label: str) -> None:
    """Pick the reply kind and wait for htmx to swap in its fields."""
    page.get_by_label("Reply with").select_option(kind)
    page.get_by_label(field_label).wait_for()


def simulate(page, text: str):
    simulator = page.get_by_role("complementary", name="Try it")
    simulator.get_by_label("Customer writes").fill(text)
    simulator.get_by_role("button", name="Simulate").click()
    result = simulator.get_by_role("status")
    result.get_by_text(f"Customer: {text}").wait_for()
    return result


def test_a_menu_built_in_the_browser_answers_in_the_simulator(web, org_a, new_page) -> None:
    page = new_page()
    sign_in(page, web, org_a)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Chatbot").click()
    page.get_by_role("link", name="Add a rule").click()
    fill_trigger(page, name="Main menu", match="exact", pattern="menu")
    fill_menu(
        page, kind="buttons", body="How can we help?", choices="sales | Sales\nsupport | Support"
    )
    page.get_by_label("Then enter menu step").fill("main")
    check_page(page, "chatbot-rule-editor")
    page.get_by_role("button", name="Save rule").click()
    page.wait_for_url("**/chatbot/")

    # The menu lists its choices; one leads to a rule that does not exist yet.
    page.get_by_role("link", name="Add the rule for “Support”").click()
    page.get_by_role("heading", name="New rule").wait_for()
    assert page.get_by_label("Only in menu step").input_value() == "main"
    assert page.get_by_label("The message").input_value() == "interactive_id"
    assert page.get_by_label("Text, regex, button id or type").input_value() == "support"
    page.get_by_label("Reply text").fill("Support is open 9-18.")
    page.get_by_role("button", name="Save rule").click()
    page.wait_for_url("**/chatbot/")
    choices = page.get_by_role("list", name="Choices of Main menu")
    assert "Support → Support" in choices.inner_text()

    result = simulate(page, "MENU")
    result.get_by_text("How can we help?").wait_for()
    assert "now in menu step “main”" in result.inner_text()
    result.get_by_role("button", name="Support").click()
    page.get_by_role("status").get_by_text("Support is open 9-18.").wait_for()
    check_page(page, "chatbot-simulator")

    # Edit the menu: a third choice shows up in the simulator at once.
    page.get_by_role("link", name="Edit the rule Main menu").click()
    page.get_by_label("Choices, one per line").fill(
        "sales | Sales\nsupport | Support\nbilling | Billing"
    )
    page.get_by_role("button", name="Save rule").click()
    page.wait_for_url("**/chatbot/")
    result = simulate(page, "menu")
    result.get_by_role("button", name="Billing").wait_for()
    check_page(page, "chatbot-rules")
    with in_tenant(org_a):
        menu = ChatbotRule.objects.get(name="Main menu")
        assert [b["id"] for b in menu.reply["buttons"]] == ["sales", "support", "billing"]
        assert (menu.reply_kind, menu.next_step) == ("buttons", "main")
        assert not WhatsAppMessage.objects.exists()  # simulated: nothing sent

    phone = new_page(phone=True)
    sign_in(phone, web, org_a)
    for path, name in (
        ("/chatbot/", "chatbot-rules-phone"),
        (f"/chatbot/rules/{menu.pk}/", "chatbot-rule-editor-phone"),
        ("/chatbot/settings/", "chatbot-settings-phone"),
    ):
        phone.goto(web.url(org_a.host, path))
        assert phone.evaluate("document.documentElement.scrollWidth") <= 390, path
        check_page(phone, name)


def test_rules_of_every_kind_order_on_off_and_delete(web, org_a, new_page) -> None:
    page = new_page()
    sign_in(page, web, org_a)
    open_editor(page, web, org_a)
    fill_trigger(page, name="Broken", match="regex", pattern=r"(a)\1")
    page.get_by_label("Reply text").fill("never")
    page.get_by_role("button", name="Save rule").click()
    assert "Not a valid RE2 regex" in page.locator("main").inner_text()
    assert page.get_by_label("Rule name").input_value() == "Broken"  # the form keeps what was typed

    fill_trigger(page, name="Photo received", match="message_type", pattern="image")
    fill_menu(
        page,
        kind="list",
        body="What is the photo of?",
        choices="dmg | Damage | A broken item\nid | My ID",
    )
    page.get_by_label("Button that opens the list").fill("Pick one")
    page.get_by_role("button", name="Save rule").click()
    page.wait_for_url("**/chatbot/")
    open_editor(page, web, org_a)
    page.get_by_label("Rule name").fill("Person")
    page.get_by_label("Text, regex, button id or type").fill("human")
    choose_reply_kind(page, "handoff", "Message before a person takes over (optional)")
    page.get_by_label("Message before a person takes over (optional)").fill("Connecting you.")
    page.get_by_label("Template sent instead").fill("back_soon")
    page.get_by_label("Language of that template").fill("en_US")
    page.get_by_label("Priority (lower is tried first)").fill("200")
    page.get_by_role("button", name="Save rule").click()
    page.wait_for_url("**/chatbot/")
    with in_tenant(org_a):
        photo = ChatbotRule.objects.get(name="Photo received")
        person = ChatbotRule.objects.get(name="Person")
    assert photo.reply["sections"][0]["rows"][0] == {
        "id": "dmg",
        "title": "Damage",
        "description": "A broken item",
    }
    assert (person.reply_kind, person.window_template["name"]) == ("handoff", "back_soon")

    names = page.locator(".rule-name a")
    expect(names).to_have_text(["Photo received", "Person"])
    page.get_by_role("button", name="Move Person up").click()  # htmx swaps the list
    expect(names).to_have_text(["Person", "Photo received"])
    page.get_by_role("button", name="Turn off the rule Photo received").click()
    page.get_by_role("button", name="Turn on the rule Photo received").wait_for()
    result = simulate(page, "a human please")
    result.get_by_text("Connecting you.").wait_for()
    assert "A person takes over" in result.inner_text()
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Delete the rule Person").click()
    page.get_by_role("button", name="Delete the rule Person").wait_for(state="detached")
    with in_tenant(org_a):
        assert list(ChatbotRule.objects.values_list("name", "enabled", "priority")) == [
            ("Photo received", False, 20)
        ]


def test_settings_are_edited_in_the_browser_and_the_secret_never_shown(
    web, org_a, new_page
) -> None:
    page = new_page()
    sign_in(page, web, org_a)
    page.goto(web.url(org_a.host, "/chatbot/settings/"))
    page.get_by_label("Time zone").select_option("America/Sao_Paulo")
    page.get_by_label("Friday").fill("09:00-18:00, 22:00-02:00")
    page.get_by_label("Holidays (closed all day), one date per line").fill("2026-12-25")
    page.get_by_label("Welcome message (a contact's first message)").fill("Olá!")
    page.get_by_label("Away message (outside business hours)").fill("We are closed.")
    page.get_by_label("Cancel words (leave the menu), comma separated").fill("sair, cancel")
    page.get_by_label("Opt-out words besides STOP, comma separated").fill("parar")
    page.get_by_label("URL").fill("https://bot.example.test/hook")
    page.get_by_label("Signing secret").fill("very-secret-value")
    page.get_by_role("button", name="Save settings").click()
    page.get_by_text("Chatbot settings saved.").wait_for()
    assert "very-secret-value" not in page.content()
    assert "A secret is set" in page.locator("main").inner_text()
    check_page(page, "chatbot-settings")
    with in_tenant(org_a):
        saved = ChatbotSettings.objects.get()
    assert saved.time_zone == "America/Sao_Paulo"
    assert saved.business_hours["fri"] == [["09:00", "18:00"], ["22:00", "02:00"]]
    assert saved.business_hours["mon"] == []
    assert (saved.holidays, saved.cancel_words, saved.opt_out_words) == (
        ["2026-12-25"],
        ["sair", "cancel"],
        ["parar"],
    )
    assert saved.external_bot_secret_encrypted and "very-secret" not in (
        saved.external_bot_secret_encrypted
    )

    page.get_by_label("Monday").fill("9 to 5")  # refused, and what was typed stays
    page.get_by_role("button", name="Save settings").click()
    assert "write ranges like 09:00-17:00" in page.locator("main").inner_text()
    assert page.get_by_label("Monday").input_value() == "9 to 5"

    email = "chatbot.agent@alpha.test"
    user = UserFactory(username=email, email=email)
    MembershipFactory(user=user, organization=org_a.organization, role="member")
    agent = new_page()
    sign_in(agent, web, org_a, email=email)
    agent.goto(web.url(org_a.host, "/chatbot/settings/"))
    assert agent.get_by_label("Welcome message (a contact's first message)").is_disabled()
    assert agent.get_by_role("button", name="Save settings").count() == 0
    token = next(c["value"] for c in agent.context.cookies() if c["name"] == "csrftoken")
    status = agent.evaluate(
        "([url, token]) => fetch(url, {method: 'POST', headers: {'X-CSRFToken': token},"
        " body: new URLSearchParams({welcome_text: 'hacked'})}).then(r => r.status)",
        ["/chatbot/settings/", token],
    )
    assert status == 403
    with in_tenant(org_a):
        assert ChatbotSettings.objects.get().welcome_text == "Olá!"


def _delivery(org, *, text: str, state: str, error: str = "") -> None:
    with in_tenant(org):
        contact = ContactFactory()
        message = IncomingMessageFactory(contact=contact, text=text)
        conversation = ChatbotConversation.objects.create(contact=contact, phone_number_id="1000")
        turn = ChatbotTurn.objects.create(
            inbound_wamid=message.wamid,
            message=message,
            conversation=conversation,
            action="external_bot",
        )
        ExternalBotDelivery.objects.create(
            turn=turn,
            url="https://bot.example.test/hook",
            state=state,
            attempts=3,
            last_status_code=503 if error else 200,
            last_error=error,
        )


def test_the_delivery_log_shows_this_organizations_deliveries_only(
    web, org_a, org_b, new_page
) -> None:
    _delivery(org_a, text="where is my order", state="failed", error="HTTPStatusError: 503")
    _delivery(org_b, text="beta customer secret", state="succeeded")
    page = new_page()
    sign_in(page, web, org_a)
    page.goto(web.url(org_a.host, "/chatbot/"))
    page.get_by_role("navigation", name="Chatbot").get_by_role(
        "link", name="External bot log"
    ).click()
    log = page.get_by_role("region", name="Deliveries, newest first").inner_text()
    assert "where is my order" in log and "HTTPStatusError: 503" in log and "failed" in log
    assert "beta customer secret" not in page.content()
    check_page(page, "chatbot-deliveries")


def test_another_organizations_rules_are_not_on_the_page(web, org_a, org_b, new_page) -> None:
    with in_tenant(org_b):
        other = ChatbotRule.objects.create(
            name="Beta secret rule",
            match_kind="exact",
            pattern="x",
            reply_kind="text",
            reply={"body": "beta"},
        )
    page = new_page()
    sign_in(page, web, org_a)
    page.goto(web.url(org_a.host, "/chatbot/"))
    assert "Beta secret rule" not in page.content()
    token = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    for action in ("delete", "toggle", "move"):
        status = page.evaluate(
            "([url, token]) => fetch(url, {method: 'POST', headers: {'X-CSRFToken': token}})"
            ".then(r => r.status)",
            [f"/chatbot/rules/{other.pk}/{action}/", token],
        )
        assert status == 404, action  # beta's rule id names nothing on alpha's host
    page.goto(web.url(org_a.host, f"/chatbot/rules/{other.pk}/"))
    assert "Beta secret rule" not in page.content()
    with in_tenant(org_b):
        assert ChatbotRule.objects.filter(pk=other.pk, enabled=True).exists()


@pytest.fixture
def bot_alpha(web, org_a, sandbox, settings, webhook_worker, celery_worker):
    """Alpha's number connected to the sandbox, with the real webhook and Celery workers."""
    settings.WHATSAPP_SEND_RETRY_BASE_DELAY = 0.05
    sender = connect(org_a)
    sandbox.register_phone_number(sender.phone_number_id, waba_id=f"9{sender.phone_number_id}")
    return sender


def test_an_inbox_reply_takes_over_and_hand_back_releases(
    web, org_a, bot_alpha, sandbox, new_page
) -> None:
    """End to end: the bot answers; an agent's reply in the inbox silences it; "Hand back to
    the bot" in the inbox lets it answer again."""
    customer, number = "15557770021", bot_alpha.phone_number_id
    rule(org_a, pattern="hi", reply={"body": "Bot here."})
    sandbox.customer_sends_text(number, customer, "hi")
    assert wait_texts(sandbox, bot_alpha, customer, 1) == ["Bot here."]
    with in_tenant(org_a):
        conversation = Conversation.objects.get(contact__wa_id=customer)
    page = new_page()
    sign_in(page, web, org_a)
    page.goto(web.url(org_a.host, f"/inbox/{conversation.pk}/"))
    card = page.get_by_role("region", name="Chatbot")
    card.get_by_text("The bot answers this conversation").wait_for()
    page.get_by_label("Reply", exact=True).fill("Agent Ana here.")
    page.get_by_role("button", name="Send").click()
    page.wait_for_load_state()
    card.get_by_text("A person is handling this conversation").wait_for()
    assert "a team member replied" in card.inner_text()
    check_page(page, "chatbot-inbox-takeover")
    sandbox.customer_sends_text(number, customer, "hi")
    assert wait_turns(org_a, 2)[-1].action == "takeover"

    card.get_by_role("button", name="Hand back to the bot").click()
    card.get_by_text("The bot answers this conversation").wait_for()
    sandbox.customer_sends_text(number, customer, "hi")
    wait_texts(sandbox, bot_alpha, customer, 3)
    assert texts(sandbox, bot_alpha, customer) == ["Bot here.", "Agent Ana here.", "Bot here."]


def test_another_organizations_conversation_cannot_be_handed_back(
    web, org_a, org_b, new_page
) -> None:
    with in_tenant(org_b):
        contact = ContactFactory()
        ChatbotConversation.objects.create(
            contact=contact, phone_number_id="1000", takeover_until=timezone.now() + HOUR
        )
    page = new_page()
    sign_in(page, web, org_a)
    page.goto(web.url(org_a.host, "/chatbot/"))
    token = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    status = page.evaluate(
        "([url, token, contact]) => fetch(url, {method: 'POST', headers: {'X-CSRFToken': token},"
        " body: new URLSearchParams({contact, phone_number_id: '1000'})}).then(r => r.status)",
        ["/chatbot/takeover/release/", token, str(contact.pk)],
    )
    assert status == 404
    page.goto(web.url(org_a.host, f"/chatbot/takeover/?contact={contact.pk}&phone_number_id=1000"))
    assert "A person is handling" not in page.content()
    with in_tenant(org_b):
        assert ChatbotConversation.objects.get().takeover_until is not None
