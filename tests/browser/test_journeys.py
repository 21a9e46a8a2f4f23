"""Journeys of the organization web app in a real browser (issue 11): sign up, sign in on the
public host and land on the organization's host, invite a member who signs in as an agent and
is refused the admin pages, API keys and business hours, a person of two organizations."""

from __future__ import annotations

import re
import uuid

import pytest
from django.contrib.auth import get_user_model
from django.core import mail

from tenants.models import ApiKey, BusinessHours, Membership, Organization
from tests.browser.conftest import check_page
from tests.browser.test_shell import sign_in
from tests.conftest import PASSWORD

pytestmark = pytest.mark.integration


def portal_sign_in(page, web, email: str, password: str = PASSWORD) -> None:
    page.goto(web.public("/login/"))
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()


def test_sign_up_then_sign_in_on_the_public_host_lands_on_the_dashboard(web, page) -> None:
    slug = f"web-{uuid.uuid4().hex[:8]}"
    email = f"owner@{slug}.test"
    page.goto(web.public("/signup/"))
    page.get_by_label("Organization name").fill("Corner Bakery")
    page.get_by_label("Address").fill(slug)
    page.get_by_label("Your email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create organization").click()
    page.get_by_role("heading", name="Corner Bakery is ready").wait_for()
    check_page(page, "public-signup-done")

    # A wrong password is refused with the form shown again.
    portal_sign_in(page, web, email, "not-the-password")
    assert page.url == web.public("/login/")
    assert "do not match" in page.get_by_role("alert").inner_text()
    check_page(page, "public-login-error")

    portal_sign_in(page, web, email)
    host = f"{slug}.localhost"
    assert page.url == web.url(host, "/")
    assert page.get_by_role("heading", level=1).inner_text() == "Dashboard"
    assert page.get_by_role("link", name="Corner Bakery").is_visible()
    # The session lives on the organization's host only; the public host has none.
    cookies = {(c["name"], c["domain"]) for c in page.context.cookies()}
    assert ("sessionid", host) in cookies
    assert not any(name == "sessionid" and domain == "localhost" for name, domain in cookies)


def test_invited_member_signs_in_as_agent_and_is_refused_settings(
    web, org_a, new_page, settings
) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    mail.outbox = []
    admin = new_page()
    sign_in(admin, web, org_a)
    admin.get_by_role("link", name="Settings").click()
    assert admin.url == web.url(org_a.host, "/settings/")
    check_page(admin, "org-settings")

    admin.get_by_label("Email of the person to invite").fill("Agent.Smith@Alpha.test")
    admin.locator("#invitations").get_by_label("Role").select_option("member")
    admin.get_by_role("button", name="Send invitation").click()
    assert (
        "Invitation sent to agent.smith@alpha.test"
        in admin.get_by_role("status").first.inner_text()
    )
    assert len(mail.outbox) == 1
    link = re.search(r"http://\S+/invitations/\S+/", mail.outbox[0].body).group(0)
    assert link.startswith(web.url(org_a.host, "/invitations/"))

    agent = new_page()
    agent.goto(link)
    assert "invited as agent" in agent.locator("main").inner_text()
    check_page(agent, "org-invitation-accept")
    agent.get_by_label("Choose a password").fill("agent-password-4711")
    agent.get_by_label("The same password again").fill("agent-password-4711")
    agent.get_by_role("button", name="Join Alpha").click()
    assert agent.url == web.url(org_a.host, "/")
    nav = agent.get_by_role("navigation", name="Main")
    # Numbers and Settings are for admins (whatsapp.numbers, tenants.webapp).
    assert nav.get_by_role("link").all_inner_texts() == [
        "Dashboard",
        "Inbox",
        "Contacts",
        "Chatbot",
        "Templates",
        "Campaigns",
        "Usage",
    ]
    response = agent.goto(web.url(org_a.host, "/settings/"))
    assert response.status == 403
    check_page(agent, "org-settings-403-agent")
    # The link worked once.
    assert agent.goto(link).status == 404

    # The agent signs out and in again with the chosen password, on the organization's host.
    agent.goto(web.url(org_a.host, "/"))
    agent.get_by_role("button", name="Sign out").click()
    sign_in(agent, web, org_a, email="agent.smith@alpha.test", password="agent-password-4711")
    assert agent.url == web.url(org_a.host, "/")
    membership = Membership.objects.get(user__username="agent.smith@alpha.test")
    assert (membership.organization_id, membership.role) == (org_a.organization.pk, "member")

    # The admin sees the new member in the team.
    admin.goto(web.url(org_a.host, "/settings/"))
    assert "agent.smith@alpha.test" in admin.locator("#team").inner_text()


def test_api_key_is_shown_once_and_revoked_and_hours_are_saved(web, org_a, page) -> None:
    sign_in(page, web, org_a)
    page.goto(web.url(org_a.host, "/settings/"))
    page.get_by_label("Key name").fill("CRM sync")
    page.get_by_role("button", name="Create API key").click()
    key = page.locator("#new-api-key").inner_text().strip()
    assert key.startswith("wak_")
    check_page(page, "org-settings-new-key")
    row = ApiKey.objects.get(name="CRM sync")
    assert row.organization_id == org_a.organization.pk
    assert key not in page.goto(web.url(org_a.host, "/settings/")).text()

    page.get_by_role("button", name="Revoke the key CRM sync").click()
    assert page.locator("#api-keys").get_by_text("revoked").is_visible()
    row.refresh_from_db()
    assert row.revoked_at is not None

    page.get_by_role("combobox", name="Time zone").select_option("Europe/Berlin")
    page.get_by_label("Open on Monday").check()
    page.get_by_label("Monday from").fill("09:00")
    page.get_by_label("Monday until").fill("17:30")
    page.get_by_role("button", name="Save hours").click()
    assert "business hours saved" in page.get_by_role("status").first.inner_text()
    assert Organization.objects.get(pk=org_a.organization.pk).time_zone == "Europe/Berlin"
    hours = list(BusinessHours.objects.filter(organization=org_a.organization))
    assert [(h.weekday, str(h.opens_at), str(h.closes_at)) for h in hours] == [
        (0, "09:00:00", "17:30:00")
    ]
    BusinessHours.objects.filter(organization=org_a.organization).delete()
    Organization.objects.filter(pk=org_a.organization.pk).update(time_zone="UTC")
    ApiKey.objects.filter(organization=org_a.organization).delete()


def test_person_in_two_organizations_chooses_and_each_session_stays_on_its_host(
    web, org_a, org_b, new_page
) -> None:
    user = get_user_model().objects.create_user(
        username="consultant@agency.test", email="consultant@agency.test", password=PASSWORD
    )
    try:
        for org in (org_a, org_b):
            Membership.objects.create(user=user, organization=org.organization, role="member")
        page = new_page()
        portal_sign_in(page, web, "consultant@agency.test")
        assert page.get_by_role("heading", level=1).inner_text() == "Choose an organization"
        check_page(page, "public-choose-organization")
        page.get_by_role("link", name="Beta").click()
        assert page.url == web.url(org_b.host, "/")
        # B's session cookie copied onto A's host does not sign anyone in there.
        session = next(c for c in page.context.cookies() if c["name"] == "sessionid")
        other = new_page()
        other.context.add_cookies(
            [{"name": "sessionid", "value": session["value"], "url": web.url(org_a.host, "/")}]
        )
        other.goto(web.url(org_a.host, "/"))
        assert other.url.startswith(web.url(org_a.host, "/login/"))
    finally:
        user.delete()


def test_password_reset_by_email_then_sign_in(web, org_a, page, settings) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    mail.outbox = []
    page.goto(web.public("/login/"))
    page.get_by_role("link", name="Reset it").click()
    check_page(page, "public-password-reset")
    page.get_by_label("Email").fill(org_a.admin_email)
    page.get_by_role("button", name="Send the link").click()
    page.get_by_role("heading", name="Check your email").wait_for()
    link = re.search(r"http://\S+/password-reset/\S+/\S+/", mail.outbox[0].body).group(0)
    assert link.startswith(web.public("/password-reset/"))
    user = get_user_model().objects.get(username=org_a.admin_email)
    try:
        page.goto(link)
        check_page(page, "public-password-reset-confirm")
        page.get_by_label("New password", exact=False).first.fill("a-fresh-password-2026")
        page.get_by_label("New password confirmation").fill("a-fresh-password-2026")
        page.get_by_role("button", name="Save the new password").click()
        page.get_by_role("heading", name="Password changed").wait_for()
        portal_sign_in(page, web, org_a.admin_email, "a-fresh-password-2026")
        assert page.url == web.url(org_a.host, "/")
    finally:  # the session's organizations keep their admin's password
        user.set_password(PASSWORD)
        user.save(update_fields=["password"])


def test_too_many_wrong_passwords_show_the_lockout_page(web, org_a, page, settings) -> None:
    settings.AXES_FAILURE_LIMIT = 2
    for _ in range(2):
        sign_in(page, web, org_a, password="wrong-password")
    assert page.get_by_role("heading", level=1).inner_text() == "Too many sign-in attempts"
    check_page(page, "org-locked-out")
