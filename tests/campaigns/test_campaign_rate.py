"""A campaign's own `rate_per_second` (the issue's "optional per-campaign rate") caps how fast
its messages leave, not only how many wait in the queue: committed rows, the session's worker,
the sandbox as Meta."""

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
        stamps = sorted(
            CampaignRecipient.objects.filter(campaign_id=campaign.pk).values_list(
                "message__accepted_at", flat=True
            )
        )
    span = (stamps[-1] - stamps[0]).total_seconds()
    assert span >= 4.0, f"30 sends at 5/s took {span:.1f} s"
    busiest = max(sum(1 for s in stamps if 0 <= (s - t).total_seconds() < 1) for t in stamps)
    assert busiest <= 8, f"{busiest} sends in one second at 5/s"
