"""The chatbot page in a real browser: add a rule (and see a bad regex refused), try it in the
simulator beside the rules (htmx, nothing sent), delete it; an agent uses it too, and the
layout holds on a phone."""

from __future__ import annotations

import pytest

from tests.browser.conftest import check_page
from tests.browser.test_shell import sign_in
from tests.conftest import in_tenant
from whatsapp.chatbot.models import ChatbotRule
from whatsapp.models import WhatsAppMessage

pytestmark = pytest.mark.integration


def add_rule(page, *, name: str, match: str, pattern: str, reply: str) -> None:
    page.get_by_label("Name").fill(name)
    page.get_by_label("When the message").select_option(match)
    page.get_by_label("Text, regex, button id or type").fill(pattern)
    page.get_by_label("Reply", exact=True).fill(reply)
    page.get_by_role("button", name="Add rule").click()
    page.wait_for_load_state()


def test_rules_and_the_simulator_beside_them(web, org_a, new_page) -> None:
    page = new_page()
    sign_in(page, web, org_a)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Chatbot").click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", level=1).inner_text() == "Chatbot"
    add_rule(page, name="Opening hours", match="contains", pattern="horário", reply="We open 9-18.")
    add_rule(page, name="Broken", match="regex", pattern=r"(a)\1", reply="never")
    assert (
        "Not a valid RE2 regex" in page.get_by_role("region", name="Add a text reply").inner_text()
    )
    assert page.get_by_label("Name").input_value() == "Broken"  # the form keeps what was typed
    rules = page.get_by_role("region", name="Rules, in the order they are tried").inner_text()
    assert "Opening hours" in rules and "Broken" not in rules

    simulator = page.get_by_role("complementary", name="Try it")
    simulator.get_by_label("Customer writes").fill("Qual o HORARIO?")
    simulator.get_by_role("button", name="Simulate").click()
    result = simulator.get_by_role("status")
    result.get_by_text("We open 9-18.").wait_for()
    assert page.url.endswith("/chatbot/")  # htmx swapped the result in place
    check_page(page, "chatbot-rules")
    with in_tenant(org_a):
        assert ChatbotRule.objects.count() == 1
        assert not WhatsAppMessage.objects.exists()  # simulated: nothing sent

    phone = new_page(phone=True)
    sign_in(phone, web, org_a)
    phone.goto(web.url(org_a.host, "/chatbot/"))
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    check_page(phone, "chatbot-rules-phone")

    page.get_by_role("button", name="Delete the rule Opening hours").click()
    page.wait_for_load_state()
    with in_tenant(org_a):
        assert not ChatbotRule.objects.exists()


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
    status = page.evaluate(
        "([url, token]) => fetch(url, {method: 'POST', headers: {'X-CSRFToken': token}})"
        ".then(r => r.status)",
        [f"/chatbot/rules/{other.pk}/delete/", token],
    )
    assert status == 404  # beta's rule id names nothing on alpha's host
    with in_tenant(org_b):
        assert ChatbotRule.objects.filter(pk=other.pk).exists()
