"""Planning: the audience read (tags, a list, a CSV with bad rows), variables frozen per
recipient, and the flight plan's numbers. In a rolled-back transaction; the quota contract
(billing_stub.quota) is replaced by a stand-in where a test needs a limit, and says so."""

from __future__ import annotations

import pytest

from tests.campaigns.conftest import acting_as, number, stored_template, tagged_contacts
from whatsapp.campaigns.errors import CampaignInvalidError, CampaignStateError
from whatsapp.campaigns.models import Campaign, CampaignRecipient
from whatsapp.campaigns.services.execution import campaign_start
from whatsapp.campaigns.services.planning import campaign_create, campaign_plan
from whatsapp.campaigns.services.rates import rate_table
from whatsapp.errors import NoSendingNumberError
from whatsapp.message_templates.errors import TemplateNotSendableError
from whatsapp.models import Contact

pytestmark = pytest.mark.django_db

VARIABLES = {
    "first_name": {"field": "first_name"},
    "code": {"column": "code", "fallback": "WELCOME"},
}


def _campaign(org, **overrides) -> Campaign:
    fields = {
        "name": "Spring",
        "template_name": "promo",
        "template_language": "en_US",
        "audience": {"tags": ["vip"]},
        "variables": VARIABLES,
    }
    with acting_as(org):
        return campaign_create(**(fields | overrides))


def test_tag_audience_plan_freezes_variables_and_counts_everything(org_a):
    number(org_a, tier="TIER_1K")
    stored_template(org_a, category="MARKETING")
    contacts = tagged_contacts(org_a, 6)
    with acting_as(org_a):
        Contact.objects.filter(pk=contacts[0].pk).update(opted_out_at="2026-01-01T00:00:00Z")
        Contact.objects.filter(pk=contacts[1].pk).update(wa_id="14155550100")  # US, marketing
        Contact.objects.filter(pk=contacts[2].pk).update(name="")  # no first name
        campaign = _campaign(
            org_a,
            variables={
                "first_name": {"field": "first_name"},
                "code": {"column": "code", "fallback": "W"},
            },
        )
        campaign = campaign_plan(campaign_id=campaign.pk)
        plan = campaign.plan
        assert campaign.state == "planned" and campaign.template_category == "MARKETING"
        assert plan["audience"] == 6
        assert plan["recipients"] == 3
        assert plan["opted_out"] == 1 and plan["us_marketing"] == 1
        assert plan["unresolved"] == {"first_name": 1}
        assert plan["skipped"] == 3
        price = rate_table().price(country="GB", category="MARKETING")
        assert plan["cost"]["by_country"] == {"GB": {"recipients": 3, "cost": round(3 * price, 4)}}
        assert plan["cost"]["total"] == round(3 * price, 4)
        assert plan["cost"]["effective_date"] == rate_table().effective_date
        assert plan["messaging_limit"] == {
            "tier": "TIER_1K",
            "limit": 1000,
            "used_24h": 0,
            "headroom": 1000,
        }
        assert plan["quota"] == {"outbound_messages": None, "campaigns": None}
        assert plan["rate_per_second"] == 72.0  # 80/s less the 10% kept for live traffic
        assert plan["duration_seconds"] == round(3 / 72, 1)
        assert plan["blockers"] == []
        rows = {r.contact_id: r for r in CampaignRecipient.objects.filter(campaign=campaign)}
        assert {r.skip_reason for r in rows.values()} == {
            "",
            "opted_out",
            "us_marketing",
            "missing_variable",
        }
        frozen = rows[contacts[3].pk]
        assert frozen.state == "pending" and frozen.variables == {
            "first_name": "Name3",
            "code": "W",
        }
        # A later edit of the contact does not change the planned message.
        Contact.objects.filter(pk=contacts[3].pk).update(name="Changed Later")
        frozen.refresh_from_db()
        assert frozen.variables["first_name"] == "Name3"


CSV = (
    "Phone,code,shoe_size\n"
    "+44 7911 100001,A1,42\n"
    "+44 7911 100002,,41\n"
    "not a number,B2,40\n"
    "447911100001,A9,39\n"
    ",C3,38\n"
    "\n"
    "CC.abcdef123,D4,37\n"
)


def test_csv_audience_reports_every_bad_row_and_creates_unknown_contacts(org_a):
    number(org_a)
    stored_template(org_a)
    with acting_as(org_a):
        Contact.objects.create(wa_id="447911100001", name="Known Person")
        campaign = _campaign(org_a, audience={"csv": True})
        with pytest.raises(CampaignInvalidError):
            campaign_plan(campaign_id=campaign.pk)  # no file
        campaign = campaign_plan(campaign_id=campaign.pk, csv_data=CSV.encode())
        plan = campaign.plan
        report = plan["import"]
        assert report["rows"] == 6 and report["accepted"] == 3
        assert report["unknown_columns"] == ["shoe_size"]
        assert [(p["line"], p["reason"]) for p in report["problems"]] == [
            (4, "invalid_number"),
            (5, "duplicate"),
            (6, "missing_identity"),
        ]
        assert plan["duplicates"] == 1 and plan["invalid"] == 1
        rows = list(CampaignRecipient.objects.filter(campaign=campaign).order_by("line"))
        assert [(r.address, r.line, r.variables) for r in rows] == [
            ("447911100001", 2, {"first_name": "Known", "code": "A1"}),
            ("447911100002", 3, {"first_name": "", "code": "WELCOME"}),
            ("CC.abcdef123", 8, {"first_name": "", "code": "D4"}),
        ]
        # New people became contacts (through the contacts service); no first name: skipped.
        assert Contact.objects.filter(wa_id="447911100002").exists()
        assert Contact.objects.filter(user_id="CC.abcdef123").exists()
        assert plan["recipients"] == 1 and plan["unresolved"] == {"first_name": 2}


def test_plan_refuses_unapproved_template_and_start_is_refused_over_the_quota(org_a, monkeypatch):
    number(org_a)
    template = stored_template(org_a, status="PAUSED")
    tagged_contacts(org_a, 3)
    with acting_as(org_a):
        campaign = _campaign(org_a, variables={"code": {"column": "code", "fallback": "Z"}})
        with pytest.raises(TemplateNotSendableError):
            campaign_plan(campaign_id=campaign.pk)
        template.status = "APPROVED"
        template.save()
        with pytest.raises(CampaignStateError):
            campaign_start(campaign_id=campaign.pk)  # not planned yet
        # Stand-in for the billing implementation: 2 messages left this month.
        monkeypatch.setattr(
            "whatsapp.campaigns.services.planning.quota_headroom",
            lambda *, organization_id, limit: 2 if limit == "outbound_messages_per_month" else None,
        )
        monkeypatch.setattr(
            "whatsapp.campaigns.services.execution.quota_headroom",
            lambda *, organization_id, limit: 2 if limit == "outbound_messages_per_month" else None,
        )
        campaign = campaign_plan(campaign_id=campaign.pk)
        assert campaign.plan["quota"]["outbound_messages"] == 2
        assert campaign.plan["blockers"] and "3 messages exceed" in campaign.plan["blockers"][0]
        from whatsapp.campaigns.errors import CampaignRefusedError

        with pytest.raises(CampaignRefusedError) as refused:
            campaign_start(campaign_id=campaign.pk)
        assert "outbound messages" in refused.value.reasons[0]
        campaign.refresh_from_db()
        assert campaign.state == "planned" and campaign.started_at is None


def test_definition_errors(org_a):
    with acting_as(org_a), pytest.raises(NoSendingNumberError):
        _campaign(org_a)
    number(org_a)
    with acting_as(org_a):
        with pytest.raises(CampaignInvalidError):
            _campaign(org_a, audience={"tags": ["a"], "csv": True})
        with pytest.raises(CampaignInvalidError):
            _campaign(org_a, variables={"code": {"field": "email"}})


def test_a_start_counts_in_the_plans_campaigns_and_the_second_is_refused(org_a, settings):
    """The real billing implementation (no stand-in): a plan with one campaign a month."""
    from billing_stub.quota import quota_headroom
    from tests.billing.conftest import plan_with, put_on
    from whatsapp.campaigns.errors import CampaignRefusedError

    settings.BILLING_ENFORCEMENT = True
    put_on(org_a, plan_with(campaigns_per_month=1))
    number(org_a)
    stored_template(org_a)
    tagged_contacts(org_a, 2)
    org_id = org_a.organization.pk
    with acting_as(org_a):
        first = campaign_plan(campaign_id=_campaign(org_a).pk)
        second = campaign_plan(campaign_id=_campaign(org_a, name="Summer").pk)
        assert quota_headroom(organization_id=org_id, limit="campaigns_per_month") == 1
        assert campaign_start(campaign_id=first.pk).state in ("running", "scheduled")
        assert quota_headroom(organization_id=org_id, limit="campaigns_per_month") == 0
        campaign_start(campaign_id=first.pk)  # idempotent: not counted twice
        assert quota_headroom(organization_id=org_id, limit="campaigns_per_month") == 0
        with pytest.raises(CampaignRefusedError):
            campaign_start(campaign_id=second.pk)
        second.refresh_from_db()
        assert second.state == "planned" and second.started_at is None
