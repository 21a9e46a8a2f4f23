"""Template pages in a real browser against the sandbox as Meta: the editor shows a review
problem as it is typed, the fix clears it, the submit reaches Meta (PENDING in the list), the
sandbox approves it by signed webhook (APPROVED after a reload); the picker fills a variable
from the contact, sends, and Meta receives exactly the right components."""

from __future__ import annotations

import pytest

from tests.browser.conftest import check_page
from tests.browser.test_shell import sign_in
from tests.conftest import in_tenant
from tests.message_templates.conftest import waba, wait_template
from tests.outbound.conftest import connect, customer, sent_bodies, wait_final
from whatsapp.models import Contact, WhatsAppMessage

pytestmark = pytest.mark.integration

WA_ID = "15557654399"


@pytest.fixture
def sender(live_db, org_a, sandbox, settings, webhook_worker):
    settings.WHATSAPP_SEND_RETRY_BASE_DELAY = 0.05
    sandbox.update_config(auto_approve_templates=False)
    return connect(org_a)


def test_editor_review_submit_approve_then_pick_and_send(
    web, sender, sandbox, celery_worker, new_page
) -> None:
    org = sender.org
    page = new_page()
    sign_in(page, web, org)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Templates").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Templates"
    check_page(page, "org-templates-empty")

    page.get_by_role("link", name="New template").click()
    page.get_by_label("Name").fill("order_ready")
    page.get_by_label("Variables").select_option("NAMED")
    page.get_by_label("Body:", exact=True).fill("Hi {{first_name}}, order {{order_id}}")
    review = page.locator("#review-status")
    # Typed, not submitted: the live check shows Meta's rule that was broken.
    review.get_by_text("A variable cannot be at the very start or end of the body.").wait_for()
    assert "Give an example for the variable {{first_name}}." in review.inner_text()
    check_page(page, "org-template-editor-problem")

    page.get_by_label("Body:", exact=True).fill("Hi {{first_name}}, order {{order_id}} is ready.")
    page.get_by_label("Body examples").fill("Ana\nA-1")
    page.get_by_label("Footer (optional)").fill("Acme shop")
    review.get_by_text("Passes the checks").wait_for()
    page.get_by_test_id("preview").get_by_text("Acme shop").wait_for()
    assert page.get_by_test_id("preview").inner_text().startswith("Hi Ana, order A-1 is ready.")
    check_page(page, "org-template-editor-ok")

    page.get_by_role("button", name="Submit for review").click()
    page.wait_for_url(web.url(org.host, "/templates/"))
    row = page.locator("tr[data-template='order_ready']")
    assert row.get_by_test_id("status").inner_text() == "PENDING"
    assert "submitted for review" in page.get_by_role("status").first.inner_text()
    assert [t["status"] for t in sandbox.templates(waba(sender))] == ["PENDING"]
    check_page(page, "org-templates-pending")

    sandbox.approve_template("order_ready", waba_id=waba(sender))
    template = wait_template(org, lambda t: t.status == "APPROVED", name="order_ready")
    page.reload()
    assert row.get_by_test_id("status").inner_text() == "APPROVED"
    check_page(page, "org-templates-approved")

    # The picker, on its own page (the inbox embeds the same fragment).
    contact = customer(sender, WA_ID, window=False)
    with in_tenant(org):
        Contact.objects.filter(pk=contact.pk).update(name="Ana Lima")
    page.goto(web.url(org.host, f"/templates/picker/?contact={contact.pk}"))
    page.get_by_label("Template").select_option(label="order_ready (en_US)")
    first_name = page.get_by_label("{{first_name}}")
    first_name.wait_for()
    assert first_name.input_value() == "Ana"  # from the contact's profile name
    page.get_by_label("{{order_id}}").fill("A-77")
    # The preview follows what is typed.
    page.get_by_test_id("preview").get_by_text("Hi Ana, order A-77 is ready.").wait_for()
    check_page(page, "org-template-picker")
    page.get_by_role("button", name="Send template").click()
    page.get_by_text("Template order_ready sent to Ana Lima").wait_for()
    check_page(page, "org-template-picker-sent")

    with in_tenant(org):
        sent = WhatsAppMessage.objects.get(contact=contact, direction="outgoing")
    assert wait_final(org, [sent.pk])[0].status == "accepted"
    assert template.parameter_format == "NAMED"
    [body] = sent_bodies(sandbox, sender.phone_number_id)
    sent_template = body["template"]
    assert (sent_template["name"], sent_template["language"]["code"]) == ("order_ready", "en_US")
    assert sent_template["components"] == [
        {
            "type": "body",
            "parameters": [
                {"type": "text", "text": "Ana", "parameter_name": "first_name"},
                {"type": "text", "text": "A-77", "parameter_name": "order_id"},
            ],
        }
    ]


def test_sync_now_rejection_reason_meta_refusal_and_agent_view(
    web, sender, sandbox, new_page
) -> None:
    """Sync brings Meta's templates in; a rejection by webhook shows Meta's reason; Meta's
    refusal (its call budget spent) is said in plain words; an agent sees without changing."""
    import uuid

    from tests.factories import MembershipFactory, UserFactory

    org = sender.org
    body = {"type": "BODY", "text": "Hi {{1}}, see you soon.", "example": {"body_text": [["A"]]}}
    sandbox.create_template("welcome", waba_id=waba(sender), components=[body])
    sandbox.create_template("promo", waba_id=waba(sender), status="PENDING", components=[body])
    page = new_page()
    sign_in(page, web, org)
    page.goto(web.url(org.host, "/templates/"))
    page.get_by_role("button", name="Sync now").click()
    assert "Synced with Meta: 2 new, 0 updated" in page.get_by_role("status").first.inner_text()
    assert page.locator("tr[data-template='welcome']").get_by_test_id("status").inner_text() == (
        "APPROVED"
    )

    sandbox.reject_template("promo", waba_id=waba(sender), reason="INVALID_FORMAT")
    wait_template(org, lambda t: t.status == "REJECTED", name="promo")
    page.reload()
    promo = page.locator("tr[data-template='promo']")
    assert promo.get_by_test_id("status").inner_text() == "REJECTED"
    assert "Rejected: INVALID_FORMAT" in promo.inner_text()
    assert "promo" in page.get_by_role("region", name="Notices from Meta").inner_text()
    page.get_by_label("Status").select_option("REJECTED")
    page.get_by_role("button", name="Filter").click()
    assert page.locator("tbody tr").count() == 1
    check_page(page, "org-templates-rejected")

    # Edit: the stored components come back into the form; the change goes back to review.
    page.goto(web.url(org.host, "/templates/"))
    page.get_by_role("link", name="Edit welcome (en_US)").click()
    assert page.get_by_label("Body:", exact=True).input_value() == "Hi {{1}}, see you soon."
    assert not page.get_by_label("Name").is_editable()
    page.get_by_label("Body:", exact=True).fill("Welcome back, {{1}}!")
    page.get_by_test_id("preview").get_by_text("Welcome back, A!").wait_for()
    assert "Passes the checks" in page.locator("#review-status").inner_text()
    check_page(page, "org-template-edit")
    page.get_by_role("button", name="Save and send for review").click()
    page.wait_for_url(web.url(org.host, "/templates/"))
    welcome = page.locator("tr[data-template='welcome']")
    assert welcome.get_by_test_id("status").inner_text() == "PENDING"
    at_meta = {t["name"]: t for t in sandbox.templates(waba(sender))}
    assert at_meta["welcome"]["components"] == [
        {"type": "BODY", "text": "Welcome back, {{1}}!", "example": {"body_text": [["A"]]}}
    ]
    # Delete, from the edit page: gone at Meta and here.
    page.get_by_role("link", name="Edit promo (en_US)").click()
    page.get_by_role("button", name="Delete promo").click()
    page.wait_for_url(web.url(org.host, "/templates/"))
    assert [t["name"] for t in sandbox.templates(waba(sender))] == ["welcome"]
    assert page.locator("tr[data-template='promo']").count() == 0

    sandbox.add_fault("error_code", code=80007, path_regex="message_templates")
    page.goto(web.url(org.host, "/templates/"))
    page.get_by_role("button", name="Sync now").click()
    assert (
        "Sync failed: Meta's call budget is spent" in page.get_by_role("status").first.inner_text()
    )
    check_page(page, "org-templates-sync-refused")

    email = f"agent-{uuid.uuid4().hex[:8]}@alpha.test"
    MembershipFactory(user=UserFactory(username=email), organization=org.organization)
    agent = new_page()
    sign_in(agent, web, org, email=email)
    agent.goto(web.url(org.host, "/templates/"))
    assert agent.locator("tr[data-template='welcome']").count() == 1
    assert agent.get_by_role("button", name="Sync now").count() == 0
    assert agent.get_by_role("link", name="New template").count() == 0
    assert agent.goto(web.url(org.host, "/templates/new/")).status == 403

    # A phone: nothing wider than the screen (the table scrolls inside its card).
    phone = new_page(phone=True)
    sign_in(phone, web, org)
    for path, name in (
        ("/templates/", "org-templates-phone"),
        ("/templates/new/", "org-template-editor-phone"),
    ):
        phone.goto(web.url(org.host, path))
        assert phone.evaluate("document.documentElement.scrollWidth") <= 390, path
        check_page(phone, name)


def test_inbox_picker_when_the_window_is_closed(web, sender, sandbox, celery_worker, new_page):
    """The inbox's conversation page, window closed: the picker loads in the composer, the
    variable comes from the contact, and the send leaves from the conversation's number."""
    from tests.outbound.conftest import customer_wrote
    from whatsapp.models import Conversation

    org = sender.org
    body = {
        "type": "BODY",
        "text": "Hello {{first_name}}, we are open again.",
        "example": {"body_text_named_params": [{"param_name": "first_name", "example": "Ana"}]},
    }
    sandbox.create_template(
        "reopened", waba_id=waba(sender), components=[body], parameter_format="NAMED"
    )
    page = new_page()
    sign_in(page, web, org)
    page.goto(web.url(org.host, "/templates/"))
    page.get_by_role("button", name="Sync now").click()
    with in_tenant(org):
        contact = Contact.objects.create(wa_id=WA_ID, name="Bruno Costa")
        customer_wrote(contact, phone_number_id=sender.phone_number_id, hours_ago=30)
        conversation = Conversation.objects.get(contact=contact)
    page.goto(web.url(org.host, f"/inbox/{conversation.pk}/"))
    composer = page.locator("#composer")
    # The picker arrives by an htmx swap; its form listens for the select's change only once
    # htmx has processed it (a few ms after the swap): choosing before that would be lost.
    page.wait_for_function(
        "() => { const f = document.querySelector('#composer form[hx-get]');"
        " return !!(f && f['htmx-internal-data'] && f['htmx-internal-data'].initHash); }"
    )
    composer.get_by_label("Template").select_option(label="reopened (en_US)")
    first_name = composer.get_by_label("{{first_name}}")
    first_name.wait_for()
    assert first_name.input_value() == "Bruno"
    composer.get_by_test_id("preview").get_by_text("Hello Bruno, we are open again.").wait_for()
    check_page(page, "org-inbox-template-picker")
    composer.get_by_role("button", name="Send template").click()
    composer.get_by_text("Template reopened sent to Bruno Costa").wait_for()
    with in_tenant(org):
        sent = WhatsAppMessage.objects.get(contact=contact, direction="outgoing")
    assert wait_final(org, [sent.pk])[0].status == "accepted"
    assert sent.phone_number_id == conversation.phone_number_id
    [sent_body] = sent_bodies(sandbox, sender.phone_number_id)
    assert sent_body["template"]["components"] == [
        {
            "type": "body",
            "parameters": [{"type": "text", "text": "Bruno", "parameter_name": "first_name"}],
        }
    ]
