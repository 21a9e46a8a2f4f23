"""The web app's shell in a real browser: layout, navigation, assets served by us, keyboard
access and phone width, on the public host and an organization's host."""

from __future__ import annotations

import pytest

from tests.browser.conftest import check_page
from tests.conftest import PASSWORD

pytestmark = pytest.mark.integration


def sign_in(page, web, org, email: str | None = None, password: str = PASSWORD) -> None:
    page.goto(web.url(org.host, "/login/"))
    page.get_by_label("Email").fill(email or org.admin_email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()


def test_landing_page_serves_its_own_assets(web, page) -> None:
    assets = []
    page.on("request", lambda request: assets.append(request.url))
    page.goto(web.public("/"))
    assert page.get_by_role("heading", level=1).inner_text().startswith("Your organization")
    assert page.evaluate("typeof window.htmx") == "object"
    # Every asset comes from the page's own server (no CDN).
    origin = web.public("")
    assert assets and all(url.startswith(origin) for url in assets), assets
    # The stylesheet applied: the top bar has the accent colour.
    background = page.eval_on_selector(".topbar", "e => getComputedStyle(e).backgroundColor")
    assert background == "rgb(11, 110, 99)"
    page.get_by_role("link", name="Create your organization").click()
    assert page.url == web.public("/signup/")
    check_page(page, "public-signup")
    page.goto(web.public("/"))
    check_page(page, "public-landing")


def test_org_host_navigation_keyboard_and_phone_width(web, org_a, new_page) -> None:
    page = new_page()
    sign_in(page, web, org_a)
    assert page.url == web.url(org_a.host, "/")
    nav = page.get_by_role("navigation", name="Main")
    labels = nav.get_by_role("link").all_inner_texts()
    assert labels == [
        "Dashboard",
        "Inbox",
        "Contacts",
        "Numbers",
        "Chatbot",
        "Templates",
        "Campaigns",
        "Usage",
        "Settings",
    ]
    assert nav.get_by_role("link", name="Dashboard").get_attribute("aria-current") == "page"
    check_page(page, "org-dashboard-shell")

    # Keyboard: the first Tab reaches the skip link, which moves focus to the content.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"

    # Every navigation link leads to a page (the features' own or a placeholder), not a 404.
    for label, path in (("Inbox", "/inbox/"), ("Contacts", "/contacts/"), ("Numbers", "/numbers/")):
        nav.get_by_role("link", name=label).click()
        assert page.url == web.url(org_a.host, path)
        assert page.get_by_role("heading", level=1).inner_text() == label
        assert nav.get_by_role("link", name=label).get_attribute("aria-current") == "page"

    phone = new_page(phone=True)
    sign_in(phone, web, org_a)
    # Nothing wider than the screen: no horizontal scrolling on a phone.
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    check_page(phone, "org-dashboard-phone")
    phone.goto(web.url(org_a.host, "/settings/"))
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    check_page(phone, "org-settings-phone")

    # Signing out ends the session: the dashboard asks to sign in again.
    page.get_by_role("button", name="Sign out").click()
    page.goto(web.url(org_a.host, "/"))
    assert page.url.startswith(web.url(org_a.host, "/login/"))
