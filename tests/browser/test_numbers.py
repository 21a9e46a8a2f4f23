"""`/numbers/` in a real browser against the live server and the sandbox: connect a number by
Embedded Signup in sandbox mode end to end (popup, code + FINISH message, every server step,
Meta's account_update through the webhook worker), one refused step (133005) explained and
resumed, manual connect with a revoked token refused, the doctor showing problems, agents and
other organizations kept out."""

from __future__ import annotations

import pytest

from tenants.models import PhoneNumber
from tests.browser.conftest import check_page
from tests.browser.test_shell import sign_in
from tests.conftest import PASSWORD, in_tenant
from tests.factories import MembershipFactory, UserFactory
from whatsapp.numbers.models import NumberOnboarding
from whatsapp.numbers.services.onboarding import onboarding_start

pytestmark = pytest.mark.integration


@pytest.fixture
def meta(sandbox, webhook_worker, settings):
    """The sandbox as Meta, with the platform in sandbox mode pointing at it."""
    settings.WHATSAPP_SANDBOX_MODE = True
    settings.WHATSAPP_WEBHOOK_CALLBACK_URL = "https://platform.example/webhooks/whatsapp/"
    return sandbox


def post_status(page, path: str) -> int:
    """POST `path` from the page (same origin, the session's CSRF token sent): the status."""
    return page.evaluate(
        """async (path) => {
            const token = (document.cookie.match(/csrftoken=([^;]+)/) || [])[1] || "";
            const answer = await fetch(path, {method: "POST", headers: {"X-CSRFToken": token}});
            return answer.status;
        }""",
        path,
    )


def run_signup(page, *, recipient: str = "+1 555 000 1234") -> None:
    page.get_by_role("link", name="Connect with Facebook").click()
    page.get_by_role("heading", name="Connect a number with Facebook").wait_for()
    page.get_by_label("Send a test message to (optional)").fill(recipient)
    with page.expect_popup() as opened:
        page.get_by_role("button", name="Open Meta's signup").click()
    popup = opened.value
    popup.get_by_role("heading", name="Connect your WhatsApp Business Account").wait_for()
    check_page(popup, "numbers-sandbox-popup")
    popup.get_by_role("button", name="Finish").click()
    page.wait_for_url("**/numbers/onboarding/*/")


def test_embedded_signup_with_a_refused_step_explained_then_resumed(
    web, org_a, page, new_page, meta
):
    sign_in(page, web, org_a)
    page.get_by_role("link", name="Numbers").click()
    page.get_by_role("heading", name="Numbers", level=1).wait_for()
    check_page(page, "numbers-empty")
    meta.add_fault("error_code", code=133005, path_regex="/register$")
    run_signup(page)
    alert = page.get_by_role("alert")
    assert "two-step verification PIN" in alert.inner_text()
    assert "133005" in alert.inner_text()
    check_page(page, "numbers-onboarding-failed")

    page.get_by_role("button", name="Resume from “Number registered with a PIN”").click()
    page.get_by_text("Connected", exact=True).wait_for(timeout=20_000)
    assert page.locator(".step-done").count() == 7
    check_page(page, "numbers-onboarding-done")

    with in_tenant(org_a):
        run = NumberOnboarding.objects.get()
    assert run.state == NumberOnboarding.State.DONE
    sent = meta.sent_messages(run.phone_number_id)
    assert [m["wa_id"] for m in sent] == ["15550001234"]

    page.get_by_role("link", name="See it in the number doctor").click()
    page.get_by_role("button", name="Check now").first.click()
    doctor = page.locator(f"#number-{run.phone_number_id}")
    doctor.get_by_text("Checked").wait_for()
    assert "registered" in doctor.inner_text()
    check_page(page, "numbers-doctor")
    phone = new_page(phone=True)
    sign_in(phone, web, org_a)
    phone.goto(web.url(org_a.host, "/numbers/"))
    check_page(phone, "numbers-doctor-phone")


def test_manual_connect_refuses_a_bad_token_and_the_doctor_shows_problems(web, org_a, page, meta):
    meta.register_phone_number("109000000000007", waba_id="209000000000007")
    meta.revoke_token("EAA-revoked")
    sign_in(page, web, org_a)
    page.goto(web.url(org_a.host, "/numbers/manual/"))
    page.get_by_label("Phone number id").fill("109000000000007")
    page.get_by_label("WhatsApp Business Account id").fill("209000000000007")
    page.get_by_label("System-user access token").fill("EAA-revoked")
    page.get_by_role("button", name="Check and connect").click()
    assert "does not accept this token" in page.get_by_role("alert").first.inner_text()
    assert not PhoneNumber.objects.filter(phone_number_id="109000000000007").exists()
    check_page(page, "numbers-manual-refused")

    token = meta.issue_token()
    page.get_by_label("Phone number id").fill("109000000000007")
    page.get_by_label("WhatsApp Business Account id").fill("209000000000007")
    page.get_by_label("System-user access token").fill(token)
    page.get_by_role("button", name="Check and connect").click()
    page.wait_for_url("**/numbers/")
    meta.set_number_health("109000000000007", status="FLAGGED", quality_rating="RED")
    page.get_by_role("button", name="Check now").click()
    doctor = page.locator("#number-109000000000007")
    doctor.get_by_text("Checked").wait_for()
    text = doctor.inner_text()
    assert "FLAGGED" in text and "Low quality" in text and "Problem" in text
    check_page(page, "numbers-doctor-problems")


def test_agents_and_other_organizations_cannot_reach_numbers(web, org_a, org_b, new_page, meta):
    agent = UserFactory(username="agent@alpha.test")
    MembershipFactory(user=agent, organization=org_a.organization, role="member")
    page = new_page()
    sign_in(page, web, org_a, email="agent@alpha.test", password=PASSWORD)
    assert page.get_by_role("link", name="Numbers").count() == 0
    response = page.goto(web.url(org_a.host, "/numbers/"))
    assert response.status == 403
    page.goto(web.url(org_a.host, "/"))
    assert post_status(page, "/numbers/manual/") == 403

    # org B's admin: org A's run and number are not there by id.
    signup = meta.signup_code()
    with in_tenant(org_a):
        run = onboarding_start(
            organization=org_a.organization,
            code=signup["code"],
            waba_id=signup["waba_id"],
            phone_number_id=signup["phone_number_id"],
        )
    other = new_page()
    sign_in(other, web, org_b)
    assert other.goto(web.url(org_b.host, f"/numbers/onboarding/{run.pk}/")).status == 404
    other.goto(web.url(org_b.host, "/numbers/"))
    assert signup["phone_number_id"] not in other.content()
    assert post_status(other, f"/numbers/{signup['phone_number_id']}/check/") == 404
    assert post_status(other, f"/numbers/onboarding/{run.pk}/resume/") == 404
    # The same posts from org A's admin reach the number and the run: the 404s above are
    # tenancy, not broken routes.
    admin = new_page()
    sign_in(admin, web, org_a)
    assert post_status(admin, f"/numbers/{signup['phone_number_id']}/check/") == 200
