"""Campaigns share what they run on (integration: real PostgreSQL schemas, the session's Celery
worker, the webhook worker, real HTTP to the sandbox):

- two campaigns on one number split it fairly (the dispatcher feeds each its share, and the
  shared limiter serves both queues), each recipient sent once;
- two organizations' campaigns run side by side, neither waiting for the other, and a customer's
  message that arrives meanwhile is stored while they run (the inbound path never queues behind
  a campaign's sends).
"""

from __future__ import annotations

import pytest

from tests.campaigns.conftest import (
    acting_as,
    campaign_state,
    number,
    planned_campaign,
    sandbox_template,
    sends_by_recipient,
    stored_template,
    tagged_contacts,
    wait_state,
)
from tests.conftest import wait_for
from tests.outbound.conftest import accepted_sends
from whatsapp.campaigns.services.execution import campaign_start

pytestmark = pytest.mark.integration

GOLD = "4479222"  # the second audience's prefix (the first: tagged_contacts' 4479111)


def _slow(phone_number_id: str, mps: int) -> None:
    from tenants.models import PhoneNumber
    from whatsapp.services.ratelimit import SendRateLimiter

    PhoneNumber.objects.filter(phone_number_id=phone_number_id).update(messages_per_second=mps)
    SendRateLimiter(phone_number_id=phone_number_id, messages_per_second=mps).reset()


def test_two_campaigns_on_one_number_share_it_fairly(ready, org_a, sandbox, settings) -> None:
    """Each campaign is fed its share of the number (half each, 9/s of 18) and keeps at most
    CAMPAIGN_LOOKAHEAD_SECONDS of it queued; the queue is first come, first served, so the
    campaign that started first keeps only that backlog's head start (5 s in production, 1 s
    here, where the audiences are small)."""
    settings.CAMPAIGN_LOOKAHEAD_SECONDS = 1.0
    _slow(ready, 20)
    vip = tagged_contacts(org_a, 60)
    gold = tagged_contacts(org_a, 60, tag="gold", prefix=GOLD)
    first = planned_campaign(org_a, name="First")
    second = planned_campaign(org_a, name="Second", audience={"tags": ["gold"]})
    with acting_as(org_a):
        campaign_start(campaign_id=first.pk)
        campaign_start(campaign_id=second.pk)
    wait_state(org_a, first.pk, "completed", timeout=60)
    wait_state(org_a, second.pk, "completed", timeout=60)

    assert sends_by_recipient(sandbox, ready) == {c.wa_id: 1 for c in vip + gold}
    # While both ran (the first 60 sends), each got a fair part of the number (27 of 60 measured;
    # one after the other would give the second at most 10).
    early = [entry["body"]["to"] for entry in accepted_sends(sandbox, ready)[:60]]
    of_second = sum(1 for to in early if to.startswith(GOLD))
    assert 15 <= of_second <= 45, f"second campaign had {of_second} of the first 60 sends"


def test_two_organizations_campaigns_and_inbound_do_not_starve_each_other(
    ready, org_a, org_b, sandbox, webhook_worker
) -> None:
    from whatsapp.models import WhatsAppMessage

    number_b = number(org_b)
    sandbox_template(sandbox, org_b)
    stored_template(org_b)
    _slow(ready, 20)
    _slow(number_b, 20)
    tagged_contacts(org_a, 100)
    tagged_contacts(org_b, 100, prefix=GOLD)
    campaign_a = planned_campaign(org_a, name="Alpha's")
    campaign_b = planned_campaign(org_b, name="Beta's")
    with acting_as(org_a):
        campaign_start(campaign_id=campaign_a.pk)
    with acting_as(org_b):
        campaign_start(campaign_id=campaign_b.pk)

    # A customer writes to alpha mid-campaign: stored while both campaigns still run.
    wait_for(lambda: len(accepted_sends(sandbox, ready)) >= 20, timeout=30)
    sandbox.customer_sends_text(ready, "447700900123", "Where is my order?", wait=True)

    def stored():
        with acting_as(org_a):
            return WhatsAppMessage.objects.filter(
                direction="incoming", text="Where is my order?"
            ).exists()

    wait_for(stored, timeout=10, interval=0.05)
    assert campaign_state(org_a, campaign_a.pk).state == "running"
    assert campaign_state(org_b, campaign_b.pk).state == "running"

    wait_state(org_a, campaign_a.pk, "completed", timeout=60)
    wait_state(org_b, campaign_b.pk, "completed", timeout=60)
    times_a = [entry["time"] for entry in accepted_sends(sandbox, ready)]
    times_b = [entry["time"] for entry in accepted_sends(sandbox, number_b)]
    assert len(times_a) == len(times_b) == 100
    # Side by side: each organization's sends span mostly the same time as the other's.
    overlap = min(times_a[-1], times_b[-1]) - max(times_a[0], times_b[0])
    shorter = min(times_a[-1] - times_a[0], times_b[-1] - times_b[0])
    assert overlap >= 0.7 * shorter, (times_a[0], times_a[-1], times_b[0], times_b[-1])
