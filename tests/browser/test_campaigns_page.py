"""The campaign pages in a real browser: a campaign is created from the form (tag audience),
its flight plan shown before start, started, and its progress bar, rate and counts move live
(htmx polling) while the session's worker sends through the sandbox; failures by reason
appear; another organization's campaign page is a 404."""

from __future__ import annotations

import re
import time

import pytest

from tests.browser.conftest import check_page
from tests.browser.test_shell import sign_in
from tests.campaigns.conftest import acting_as, planned_campaign, ready, tagged_contacts

pytestmark = pytest.mark.integration
__all__ = ["ready"]  # the campaign tests' fixture: a number with the `promo` template


def test_plan_start_and_watch_a_campaign(web, org_a, new_page, ready, sandbox) -> None:
    from tenants.models import PhoneNumber

    PhoneNumber.objects.filter(phone_number_id=ready).update(messages_per_second=10)
    tagged_contacts(org_a, 36)
    sandbox.add_fault("error_code", code=131026, count=2, path_regex="/messages$")
    page = new_page()
    sign_in(page, web, org_a)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Campaigns").click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", level=1).inner_text() == "Campaigns"
    form = page.get_by_role("region", name="New campaign")
    form.get_by_label("Name").fill("Spring sale")
    form.get_by_label("Approved template").select_option(label="promo (en_US, UTILITY)")
    form.get_by_label("Contacts with the tag(s)").fill("vip")
    form.get_by_label("Variables, one a line").fill("code = SPRING-25")
    check_page(page, "campaigns-list-empty")
    form.get_by_role("button", name="Plan the campaign").click()
    page.wait_for_load_state()

    assert re.search(r"/campaigns/\d+/$", page.url)
    plan = page.get_by_role("region", name=re.compile("Flight plan"))
    text = plan.inner_text()
    assert "Will receive it\n36" in text and "Estimated cost" in text
    assert "GB" in text  # cost by country
    check_page(page, "campaign-flight-plan")

    page.get_by_role("button", name="Start").click()
    page.wait_for_load_state()
    progress = page.get_by_role("region", name="Progress")
    progress.get_by_text(re.compile(r"Rate\s*[1-9]")).wait_for(timeout=20_000)
    bar = page.locator("#campaign-bar")
    first = int(bar.get_attribute("value"))
    check_page(page, "campaign-running")
    page.wait_for_function(
        "v => Number(document.querySelector('#campaign-bar').value) > v", arg=first,
        timeout=20_000,
    )  # fmt: skip
    progress = page.get_by_role("region", name="Progress")
    progress.get_by_text("36 / 36").wait_for(timeout=30_000)
    assert "undeliverable" in progress.inner_text()  # the two 131026 refusals, by reason
    # Every recipient has an outcome; the dispatcher marks the campaign completed on its next
    # round (a few seconds at most).
    deadline = time.monotonic() + 30
    while True:
        page.reload()
        heading = page.get_by_role("heading", level=1).inner_text()
        if "Completed" in heading or time.monotonic() > deadline:
            break
        page.wait_for_timeout(500)
    assert "Completed" in heading
    check_page(page, "campaign-completed")

    phone = new_page(phone=True)
    sign_in(phone, web, org_a)
    phone.goto(page.url)
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    check_page(phone, "campaign-completed-phone")


def test_another_organizations_campaign_is_not_reachable(web, org_a, org_b, new_page, ready):
    from tests.campaigns.conftest import number, stored_template

    number(org_b)
    stored_template(org_b)
    tagged_contacts(org_b, 2)
    other = planned_campaign(org_b, name="Beta secret campaign")
    page = new_page()
    sign_in(page, web, org_a)
    page.goto(web.url(org_a.host, "/campaigns/"))
    assert "Beta secret campaign" not in page.content()
    response = page.goto(web.url(org_a.host, f"/campaigns/{other.pk}/"))
    assert response.status == 404
    token = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    status = page.evaluate(
        "([url, token]) => fetch(url, {method: 'POST', headers: {'X-CSRFToken': token}})"
        ".then(r => r.status)",
        [web.url(org_a.host, f"/campaigns/{other.pk}/start/"), token],
    )
    assert status == 404
    with acting_as(org_b):
        other.refresh_from_db()
        assert other.state == "planned"
