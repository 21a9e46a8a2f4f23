"""The superadmin console in a real browser (issue 12): sign in with a TOTP code; suspend an
organization -> its API refuses -> its webhook changes are held -> reactivate -> they are
applied; find a failed event, read its error, replay it once the cause is fixed, see it
processed; reveal a body with a reason and find the audit entry."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from django.contrib.auth import get_user_model

from tenants.models import AuditEntry, Organization, OrganizationSuspension, WebhookChange
from tenants.services.staff_otp import staff_totp_device, totp_code_now
from tests.browser.conftest import check_page
from tests.clients import api_client, obtain_tokens
from tests.conftest import PASSWORD, in_tenant, wait_for
from tests.factories import PhoneNumberFactory
from whatsapp.models import WhatsAppMessage

pytestmark = pytest.mark.integration


@pytest.fixture
def staff(web) -> Iterator[object]:
    user = get_user_model().objects.create_user(
        username=f"ops-{uuid.uuid4().hex[:8]}@platform.test", password=PASSWORD, is_staff=True
    )
    user.email = user.username
    user.save()
    yield user
    user.delete()


@pytest.fixture
def alpha_restored(org_a) -> Iterator[Organization]:
    """org_a, made active again (and its suspension history emptied) whatever the test did."""
    yield org_a.organization
    Organization.objects.filter(pk=org_a.organization.pk).update(status="active")
    OrganizationSuspension.objects.filter(organization=org_a.organization).delete()


def console_sign_in(page, web, user) -> None:
    device = staff_totp_device(user=user)
    page.goto(web.public("/console/"))
    assert page.url.startswith(web.public("/console/login/"))
    page.get_by_label("Email").fill(user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("heading", name="Second factor").wait_for()
    check_page(page, "console-verify")
    page.get_by_label("Code from your authenticator app").fill(totp_code_now(device))
    page.get_by_role("button", name="Verify").click()
    page.get_by_role("heading", name="Tenants", level=1).wait_for()


def test_suspend_refuses_the_api_holds_webhooks_and_reactivation_applies_them(
    web, page, staff, org_a, alpha_restored, sandbox, webhook_worker
) -> None:
    number = PhoneNumberFactory(organization=org_a.organization, display_number="15550100001")
    access = obtain_tokens(org_a)["access"]
    console_sign_in(page, web, staff)
    check_page(page, "console-tenants")

    page.get_by_role("link", name="Alpha").click()
    page.get_by_role("heading", name="Alpha", level=1).wait_for()
    check_page(page, "console-tenant")
    page.get_by_role("link", name="Suspend…").click()
    page.get_by_label("Category").select_option("non_payment")
    page.get_by_label("Reason (kept in the audit log)").fill("Invoice 2026-11 unpaid")
    check_page(page, "console-suspend-confirm")
    page.get_by_label("I confirm").check()
    page.get_by_role("button", name="Suspend").click()
    assert "Alpha is suspended." in page.get_by_role("status").inner_text()

    refused = api_client(org_a, token=access).get("/api/v1/messages/")
    assert refused.status_code == 401
    assert "suspended" in refused.content.decode()

    sandbox.customer_sends_text(number.phone_number_id, "+15557001122", "Are you open today?")
    held = wait_for(
        lambda: WebhookChange.objects.filter(
            organization=org_a.organization, state=WebhookChange.State.HELD
        ).first()
    )
    with in_tenant(org_a):
        assert not WhatsAppMessage.objects.exists()

    page.get_by_role("link", name="Reactivate…").click()
    page.get_by_label("Reason (kept in the audit log)").fill("Paid on 2026-11-29")
    page.get_by_label("I confirm").check()
    page.get_by_role("button", name="Reactivate").click()
    assert "1 held webhook change(s) released" in page.get_by_role("status").inner_text()
    check_page(page, "console-tenant-reactivated")
    assert page.get_by_text("Invoice 2026-11 unpaid").is_visible()

    wait_for(
        lambda: WebhookChange.objects.filter(pk=held.pk, state="processed").exists(), timeout=20
    )
    with in_tenant(org_a):
        assert WhatsAppMessage.objects.get().text == "Are you open today?"
    assert api_client(org_a, token=access).get("/api/v1/messages/").status_code == 200


def test_failed_event_replayed_after_the_fix_then_a_reveal_is_audited(
    web, page, staff, org_a, sandbox, webhook_worker, settings
) -> None:
    number = PhoneNumberFactory(organization=org_a.organization, display_number="15550100002")
    settings.WHATSAPP_WEBHOOK_MAX_ATTEMPTS = 1
    settings.WHATSAPP_WEBHOOK_HANDLERS = {
        **settings.WHATSAPP_WEBHOOK_HANDLERS,
        "messages": "tests.console.broken_handler.broken_messages_handler",
    }
    sandbox.customer_sends_text(
        number.phone_number_id, "+15557003344", "Where is my parcel?", profile_name="Ines"
    )
    failed = wait_for(lambda: WebhookChange.objects.filter(state="failed").first(), timeout=20)

    console_sign_in(page, web, staff)
    page.get_by_role("link", name="Webhook events").click()
    page.get_by_label("State").select_option("failed")
    page.get_by_label("Organization (slug)").fill("alpha")
    page.get_by_role("button", name="Filter").click()
    check_page(page, "console-events-failed")
    page.get_by_role("link", name=f"#{failed.event_id}.0.0").click()
    page.get_by_role("heading", name=f"Webhook event #{failed.event_id}").wait_for()
    assert "inbox index unavailable (simulated bug)" in page.locator("pre.error").inner_text()
    assert "Where is my parcel?" not in page.content()  # redacted by default
    check_page(page, "console-event-failed")

    # The cause is fixed (the real handler is back); replay the event from its page.
    settings.WHATSAPP_WEBHOOK_HANDLERS = {
        **settings.WHATSAPP_WEBHOOK_HANDLERS,
        "messages": "whatsapp.chatbot.handler.messages_handler",
    }
    replay = page.locator("form[action$='/replay/']")
    replay.get_by_label("Reason (kept in the audit log)").fill("handler fixed in release 42")
    replay.get_by_label("I confirm").check()
    replay.get_by_role("button", name="Replay this event").click()
    assert "1 change(s) queued" in page.get_by_role("status").inner_text()
    wait_for(lambda: WebhookChange.objects.filter(pk=failed.pk, state="processed").exists())
    page.reload()
    assert page.locator(f"#change-{failed.pk} .badge").first.inner_text() == "Processed"
    check_page(page, "console-event-processed")

    # Reveal the body: a reason and a confirmation, then the audit log shows it.
    reveal = page.locator(f"form[action='/console/events/{failed.event_id}/']")
    reveal.get_by_label("Reason (kept in the audit log)").fill("Ticket 7781: customer asks")
    reveal.get_by_label("I confirm").check()
    reveal.get_by_role("button", name="Reveal the body").click()
    assert "Where is my parcel?" in page.locator("pre.body").inner_text()
    check_page(page, "console-event-revealed")
    assert AuditEntry.objects.filter(
        action="webhook.body_revealed", reason="Ticket 7781: customer asks"
    ).exists()

    page.get_by_role("link", name="Audit log").click()
    page.get_by_label("Action").fill("webhook.body_revealed")
    page.get_by_label("Who (email)").fill(staff.username)
    page.get_by_role("button", name="Filter").click()
    row = page.get_by_role("row").filter(has_text="Ticket 7781: customer asks")
    assert row.count() == 1
    assert "alpha" in row.inner_text()
    check_page(page, "console-audit")

    page.get_by_role("link", name="Pipeline health").click()
    page.get_by_role("heading", name="Celery queues").wait_for()
    check_page(page, "console-health")
