"""What holds when a campaign's messages leave, not only when it is planned: its own
`rate_per_second` (the issue's "optional per-campaign rate") caps how fast they leave, not only
how many wait in the queue; a contact who opted out meanwhile gets no marketing. Committed
rows, the session's worker, the sandbox as Meta."""

from __future__ import annotations

import pytest

from tests.campaigns.conftest import acting_as, planned_campaign, tagged_contacts, wait_state
from whatsapp.campaigns.models import CampaignRecipient
from whatsapp.campaigns.services.execution import campaign_start

pytestmark = pytest.mark.integration


def test_a_campaign_rate_below_the_numbers_is_the_pace_of_its_sends(ready, org_a):
    """30 recipients at 5/s on an 80/s number take about 6 s; the first version queued
    rate x lookahead (25) per tick, so they all left within a second (about 40/s)."""
    tagged_contacts(org_a, 30)
    campaign = planned_campaign(org_a, rate_per_second=5)
    assert campaign.plan["duration_seconds"] == 6.0
    with acting_as(org_a):
        campaign_start(campaign_id=campaign.pk)
    wait_state(org_a, campaign.pk, "completed", timeout=60)
    with acting_as(org_a):
        rows = CampaignRecipient.objects.filter(campaign_id=campaign.pk)
        stamps = sorted(rows.values_list("message__accepted_at", flat=True))
        fed = sorted(rows.values_list("dispatched_at", flat=True))
    span = (stamps[-1] - stamps[0]).total_seconds()
    assert span >= 4.0, f"30 sends at 5/s took {span:.1f} s"
    # The feed's pace (Meta's answers may bunch behind a busy worker).
    busiest = max(sum(1 for s in fed if 0 <= (s - t).total_seconds() < 1) for t in fed)
    assert busiest <= 8, f"{busiest} recipients fed in one second at 5/s"


def test_a_contact_who_opts_out_after_planning_gets_no_marketing_message(ready, org_a, sandbox):
    """Opted-out contacts are excluded from a MARKETING campaign: also one who opted out
    between the plan and the send (a campaign planned on Monday and started on Friday)."""
    from tests.campaigns.conftest import sends_by_recipient
    from whatsapp.message_templates.models import MessageTemplate
    from whatsapp.models import Contact

    contacts = tagged_contacts(org_a, 4)
    with acting_as(org_a):
        MessageTemplate.objects.filter(name="promo").update(category="MARKETING")
    campaign = planned_campaign(org_a)
    assert campaign.plan["recipients"] == 4 and campaign.plan["opted_out"] == 0
    with acting_as(org_a):
        Contact.objects.filter(pk=contacts[0].pk).update(opted_out_at="2026-01-01T00:00:00Z")
        campaign_start(campaign_id=campaign.pk)
    wait_state(org_a, campaign.pk, "completed", timeout=60)
    assert contacts[0].wa_id not in sends_by_recipient(sandbox, ready)
    with acting_as(org_a):
        row = CampaignRecipient.objects.get(campaign_id=campaign.pk, contact_id=contacts[0].pk)
    assert (row.state, row.skip_reason) == ("skipped", "opted_out")


def test_a_scheduled_campaign_waits_for_its_time(ready, org_a, sandbox):
    """Started with a time 3 s ahead: scheduled, nothing sent before it, then all of it."""
    import datetime as dt

    from django.utils import timezone

    from tests.campaigns.conftest import sends_by_recipient

    contacts = tagged_contacts(org_a, 3)
    at = timezone.now() + dt.timedelta(seconds=3)
    campaign = planned_campaign(org_a, scheduled_at=at)
    with acting_as(org_a):
        assert campaign_start(campaign_id=campaign.pk).state == "scheduled"
    assert sends_by_recipient(sandbox, ready) == {}
    wait_state(org_a, campaign.pk, "completed", timeout=60)
    assert sends_by_recipient(sandbox, ready) == {c.wa_id: 1 for c in contacts}
    with acting_as(org_a):
        first = min(
            CampaignRecipient.objects.filter(campaign_id=campaign.pk).values_list(
                "message__accepted_at", flat=True
            )
        )
    assert first >= at


def test_a_time_in_the_past_is_refused_rather_than_sent_at_once(org_a):
    """A past `scheduled_at` is a mistake (a date or AM/PM mixed up), not "send now": that is
    what an empty one means."""
    import datetime as dt

    from django.utils import timezone

    from tests.campaigns.conftest import number
    from whatsapp.campaigns.errors import CampaignInvalidError
    from whatsapp.campaigns.services.planning import campaign_create

    number(org_a)
    with acting_as(org_a), pytest.raises(CampaignInvalidError) as error:
        campaign_create(
            name="Yesterday",
            template_name="promo",
            template_language="en_US",
            audience={"tags": ["vip"]},
            scheduled_at=timezone.now() - dt.timedelta(days=1),
        )
    assert error.value.field == "scheduled_at"
