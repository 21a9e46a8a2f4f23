"""Campaign inputs a real user sends that the first version mishandled: a CSV audience that
bypassed the plan's contacts limit, NUL bytes and semicolon-separated files, an absurd rate.
In a rolled-back transaction, the real billing implementation where a limit is needed."""

from __future__ import annotations

import pytest

from tests.campaigns.conftest import (
    acting_as,
    number,
    planned_campaign,
    stored_template,
    tagged_contacts,
)
from tests.clients import admin_client
from whatsapp.campaigns.errors import CampaignInvalidError
from whatsapp.campaigns.models import Campaign
from whatsapp.campaigns.services.planning import campaign_create, campaign_plan
from whatsapp.models import Contact

pytestmark = pytest.mark.django_db


def _csv_campaign(org) -> Campaign:
    with acting_as(org):
        return campaign_create(
            name="Import",
            template_name="promo",
            template_language="en_US",
            audience={"csv": True},
            variables={"code": {"column": "code", "fallback": "C"}},
        )


def test_a_csv_audience_cannot_create_contacts_past_the_plans_limit(org_a, settings):
    """A campaign's CSV file creates the contacts it names: like the contacts import, that is
    bounded by the plan's `contacts` (all rows or none), not a way around it."""
    from billing_stub.quota import QuotaExceeded
    from tests.billing.conftest import plan_with, put_on

    settings.BILLING_ENFORCEMENT = True
    put_on(org_a, plan_with(contacts=3))
    number(org_a)
    stored_template(org_a)
    campaign = _csv_campaign(org_a)
    data = "phone,first_name\n" + "".join(f"+4479112{i:05d},N{i}\n" for i in range(5))
    with acting_as(org_a):
        with pytest.raises(QuotaExceeded):
            campaign_plan(campaign_id=campaign.pk, csv_data=data.encode())
        assert Contact.objects.count() == 0
        assert Campaign.objects.get(pk=campaign.pk).state == "draft"


def test_a_csv_with_a_nul_byte_is_refused_with_a_reason_not_a_server_error(org_a):
    number(org_a)
    stored_template(org_a)
    campaign = _csv_campaign(org_a)
    with acting_as(org_a), pytest.raises(CampaignInvalidError) as error:
        campaign_plan(campaign_id=campaign.pk, csv_data=b"phone,first_name\n+447911200001,A\x00B\n")
    assert error.value.field == "csv"


def test_a_semicolon_separated_csv_is_read(org_a):
    """Spreadsheets in many locales (de, fr, es, pt-BR...) export CSV with `;`."""
    number(org_a)
    stored_template(org_a)
    campaign = _csv_campaign(org_a)
    data = b"phone;first_name;code\n+447911200002;Ana;A1\n+447911200003;Bob;B2\n"
    with acting_as(org_a):
        plan = campaign_plan(campaign_id=campaign.pk, csv_data=data).plan
    assert plan["recipients"] == 2 and plan["import"]["columns"] == ["phone", "first_name", "code"]


def test_an_absurd_rate_is_a_400_not_a_server_error(org_a):
    number(org_a)
    client = admin_client(org_a)
    response = client.post(
        "/api/v1/campaigns/",
        {
            "name": "Fast",
            "template_name": "promo",
            "template_language": "en_US",
            "audience": {"tags": ["vip"]},
            "rate_per_second": 10**12,
        },
        "application/json",
    )
    assert response.status_code == 400, response.content
    assert "rate_per_second" in response.json()["error"]["fields"]


def _web_client(org):
    from django.test import Client

    from tests.conftest import PASSWORD

    client = Client(HTTP_HOST=org.host)
    response = client.post("/login/", {"username": org.admin_email, "password": PASSWORD})
    assert response.status_code == 302, "sign-in failed"
    return client


def test_the_web_form_leaves_no_draft_behind_when_planning_fails(org_a):
    """A CSV the plan refuses is an error on the form; the list does not fill with drafts no
    page can plan again (the campaign page offers no Plan button)."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    number(org_a)
    template = stored_template(org_a)
    client = _web_client(org_a)
    upload = SimpleUploadedFile("a.csv", b"name,code\nAna,A1\n", content_type="text/csv")
    response = client.post(
        "/campaigns/", {"name": "Broken", "template": str(template.pk), "csv": upload}
    )
    assert response.status_code == 400
    assert b"needs a `phone` or `bsuid` column" in response.content
    with acting_as(org_a):
        assert not Campaign.objects.filter(name="Broken").exists()


def test_the_campaign_page_shows_the_scheduled_time_in_the_organizations_zone(org_a):
    """The form reads `Send at` in the organization's zone: the page says it back in that
    zone, not in UTC (10:00 in Sao Paulo is not shown as 13:00 UTC)."""
    from tenants.models import Organization

    Organization.objects.filter(pk=org_a.organization.pk).update(time_zone="America/Sao_Paulo")
    number(org_a)
    template = stored_template(org_a)
    tagged_contacts(org_a, 1)
    client = _web_client(org_a)
    response = client.post(
        "/campaigns/",
        {"name": "Later", "template": str(template.pk), "tags": "vip",
         "variables": "code = X", "scheduled_at": "2030-01-15T10:00"},
    )  # fmt: skip
    assert response.status_code == 302, response.content
    with acting_as(org_a):
        campaign = Campaign.objects.get(name="Later")
    assert campaign.scheduled_at.isoformat() == "2030-01-15T13:00:00+00:00"
    page = client.get(response["Location"]).content.decode()
    assert "2030-01-15 10:00" in page, page[page.find("scheduled for") :][:80]


def test_the_campaign_pages_results_link_downloads_the_csv_for_a_signed_in_member(org_a, org_b):
    """The page's Results link works with the web session (the API's export wants a token, so
    the link answered 401 to the person looking at the page); another organization: 404."""
    number(org_a)
    stored_template(org_a)
    tagged_contacts(org_a, 2)
    campaign = planned_campaign(org_a)
    client = _web_client(org_a)
    page = client.get(f"/campaigns/{campaign.pk}/").content.decode()
    link = f'href="/campaigns/{campaign.pk}/results.csv"'
    assert link in page
    export = client.get(f"/campaigns/{campaign.pk}/results.csv")
    assert export.status_code == 200 and export["Content-Type"] == "text/csv"
    rows = b"".join(export.streaming_content).decode().splitlines()
    assert rows[0].startswith("recipient_id,") and len(rows) == 3
    other = _web_client(org_b)
    assert other.get(f"/campaigns/{campaign.pk}/results.csv").status_code == 404


def test_the_list_does_not_show_a_campaign_that_never_started_as_partly_done(org_a):
    """Recipients skipped by the plan (here: no first name) are not progress: before Start the
    list's Done column says nothing was done yet."""
    from whatsapp.models import Contact

    number(org_a)
    stored_template(org_a)
    contacts = tagged_contacts(org_a, 2)
    with acting_as(org_a):
        Contact.objects.filter(pk=contacts[0].pk).update(name="")
    campaign = planned_campaign(org_a, name="Unstarted")
    assert campaign.plan["skipped"] == 1
    page = _web_client(org_a).get("/campaigns/").content.decode()
    row = page[page.index("Unstarted") :].split("</tr>", 1)[0]
    cells = [c.split(">", 1)[1].split("<", 1)[0].strip() for c in row.split("<td")[1:]]
    assert cells[2:4] == ["2", "\u2013"], cells


def test_a_template_unpaused_before_a_scheduled_campaigns_time_puts_it_back_on_schedule(org_a):
    """Meta pauses the template of a campaign scheduled for tomorrow, then unpauses it: the
    campaign waits for its time again (the hook's retry raised 'A scheduled campaign has
    nothing to retry.' out of the webhook handler)."""
    import datetime as dt

    from django.utils import timezone

    from whatsapp.campaigns.services.execution import campaign_start
    from whatsapp.campaigns.services.hooks import template_status_hook

    number(org_a)
    template = stored_template(org_a)
    tagged_contacts(org_a, 2)
    campaign = planned_campaign(org_a, scheduled_at=timezone.now() + dt.timedelta(days=1))
    with acting_as(org_a):
        assert campaign_start(campaign_id=campaign.pk).state == "scheduled"
        template_status_hook(template=template, status="PAUSED")
        assert Campaign.objects.get(pk=campaign.pk).state == "paused"
        template_status_hook(template=template, status="APPROVED", previous="PAUSED")
        assert Campaign.objects.get(pk=campaign.pk).state == "scheduled"


def test_a_csv_of_new_numbers_is_planned_in_a_bounded_number_of_queries(
    org_a, django_assert_max_num_queries
):
    """A campaign's CSV usually names people who are not contacts yet. Each was created one by
    one (about 6 queries each: 5,000 new numbers took 24 s on `make run`, 100,000 would hold
    one HTTP request for minutes, and its identity locks could exhaust PostgreSQL's lock table);
    they are created in bulk (`contacts_for_addresses`), so planning stays near-constant in
    queries, like the recipients' one COPY."""
    number(org_a)
    stored_template(org_a)
    campaign = _csv_campaign(org_a)
    data = "phone,first_name\n" + "".join(f"+4479113{i:05d},N{i}\n" for i in range(300))
    with acting_as(org_a), django_assert_max_num_queries(150):
        plan = campaign_plan(campaign_id=campaign.pk, csv_data=data.encode()).plan
    assert plan["recipients"] == 300
