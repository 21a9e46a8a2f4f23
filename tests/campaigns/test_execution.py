"""Campaigns executed for real: committed rows, the session's Celery worker (dispatcher ticks
and the outbound send tasks), the sandbox as Meta over HTTP, the shared Redis limiter."""

from __future__ import annotations

import time

import pytest

from tests.campaigns.conftest import (
    acting_as,
    campaign_state,
    planned_campaign,
    sends_by_recipient,
    tagged_contacts,
    wait_state,
)
from tests.conftest import run_concurrently, wait_for
from whatsapp.campaigns.models import CampaignRecipient
from whatsapp.campaigns.services.execution import (
    campaign_cancel,
    campaign_pause,
    campaign_resume,
    campaign_retry,
    campaign_start,
)
from whatsapp.campaigns.services.progress import campaign_counts, campaign_failures

pytestmark = pytest.mark.integration


def test_campaign_sends_each_recipient_once_with_its_frozen_variables(ready, org_a, sandbox):
    contacts = tagged_contacts(org_a, 25)
    campaign = planned_campaign(org_a)
    with acting_as(org_a):
        # Double click: both starts return the running campaign; one dispatcher feeds it.
        run_concurrently(lambda: _in(org_a, campaign_start, campaign.pk), threads=2)
    done = wait_state(org_a, campaign.pk, "completed")
    assert done.completed_at is not None
    counts = sends_by_recipient(sandbox, ready)
    assert counts == {c.wa_id: 1 for c in contacts}
    bodies = {
        e["body"]["to"]: e["body"]["template"]
        for e in sandbox.requests(path_contains=f"/{ready}/messages")
        if e["status"] == 200 and isinstance(e.get("body"), dict)
    }
    first = bodies[contacts[0].wa_id]
    assert first["name"] == "promo"
    assert first["components"][0]["parameters"] == [
        {"type": "text", "text": "Name0", "parameter_name": "first_name"},
        {"type": "text", "text": "C-1", "parameter_name": "code"},
    ]
    with acting_as(org_a):
        assert campaign_counts(campaign_id=campaign.pk)["accepted"] == 25
        linked = CampaignRecipient.objects.filter(campaign_id=campaign.pk, message__isnull=False)
        assert linked.count() == 25


def _settled(org) -> None:
    """Wait until none of the org's messages is being sent (claimed sends have left)."""
    from whatsapp.models import WhatsAppMessage

    def idle() -> bool:
        with acting_as(org):
            return not WhatsAppMessage.objects.filter(status="sending").exists()

    wait_for(idle, timeout=20)
    time.sleep(0.2)


def _in(org, service, campaign_id, **kwargs):
    with acting_as(org):
        return service(campaign_id=campaign_id, **kwargs)


def test_pause_and_resume_under_load_never_send_twice(ready, org_a, sandbox, settings):
    from tenants.models import PhoneNumber

    settings.CAMPAIGN_LOOKAHEAD_SECONDS = 1.0
    PhoneNumber.objects.filter(phone_number_id=ready).update(messages_per_second=10)
    contacts = tagged_contacts(org_a, 60)
    campaign = planned_campaign(org_a)
    _in(org_a, campaign_start, campaign.pk)
    wait_for(lambda: sum(sends_by_recipient(sandbox, ready).values()) >= 10, timeout=20)
    # Two members pause at the same instant, then both resume, twice over.
    for _ in range(2):
        run_concurrently(lambda: _in(org_a, campaign_pause, campaign.pk), threads=2)
        paused = campaign_state(org_a, campaign.pk)
        assert paused.state == "paused" and paused.pause_reason == ""
        _settled(org_a)  # sends a task had already claimed finish
        sent_at_pause = sum(sends_by_recipient(sandbox, ready).values())
        time.sleep(1.5)
        assert sum(sends_by_recipient(sandbox, ready).values()) == sent_at_pause
        assert sent_at_pause < 60
        run_concurrently(lambda: _in(org_a, campaign_resume, campaign.pk), threads=2)
        wait_for(
            lambda n=sent_at_pause: sum(sends_by_recipient(sandbox, ready).values()) > n + 3,
            timeout=20,
        )
    wait_state(org_a, campaign.pk, "completed", timeout=60)
    assert sends_by_recipient(sandbox, ready) == {c.wa_id: 1 for c in contacts}


def test_cancel_stops_for_good_and_skips_the_rest(ready, org_a, sandbox):
    from tenants.models import PhoneNumber

    PhoneNumber.objects.filter(phone_number_id=ready).update(messages_per_second=5)
    tagged_contacts(org_a, 40)
    campaign = planned_campaign(org_a)
    _in(org_a, campaign_start, campaign.pk)
    wait_for(lambda: sum(sends_by_recipient(sandbox, ready).values()) >= 3, timeout=20)
    run_concurrently(lambda: _in(org_a, campaign_cancel, campaign.pk), threads=2)
    _settled(org_a)
    sent = sum(sends_by_recipient(sandbox, ready).values())
    time.sleep(1.5)
    assert sum(sends_by_recipient(sandbox, ready).values()) == sent < 40
    with acting_as(org_a):
        counts = campaign_counts(campaign_id=campaign.pk)
        # Never dispatched: skipped; dispatched but held when it was cancelled: failed.
        assert counts["skipped"] + counts["failed"] == 40 - sent
        assert counts["accepted"] == sent
        reasons = {(f["kind"], f["reason"]) for f in campaign_failures(campaign_id=campaign.pk)}
        assert reasons <= {("skipped", "cancelled"), ("failed", "campaign_cancelled")}
        with pytest.raises(Exception, match="cannot be resumed"):
            campaign_resume(campaign_id=campaign.pk)
    assert campaign_state(org_a, campaign.pk).state == "cancelled"


def test_failed_recipients_are_retried_by_code_once_each(ready, org_a, sandbox):
    contacts = tagged_contacts(org_a, 10)
    sandbox.add_fault("error_code", code=131026, count=3, path_regex="/messages$")
    campaign = planned_campaign(org_a)
    _in(org_a, campaign_start, campaign.pk)
    wait_state(org_a, campaign.pk, "completed")
    with acting_as(org_a):
        counts = campaign_counts(campaign_id=campaign.pk)
        assert counts["failed"] == 3 and counts["accepted"] == 7
        assert campaign_retry(campaign_id=campaign.pk, codes=[131047]) == 0
        assert campaign_retry(campaign_id=campaign.pk, reasons=["send_unconfirmed"]) == 0
        assert campaign_retry(campaign_id=campaign.pk, codes=[131026]) == 3
    wait_state(org_a, campaign.pk, "completed")
    with acting_as(org_a):
        assert campaign_counts(campaign_id=campaign.pk)["accepted"] == 10
        assert set(
            CampaignRecipient.objects.filter(campaign_id=campaign.pk).values_list(
                "attempt", flat=True
            )
        ) == {1, 2}
    # Accepted exactly once each (the three failures were refusals, nothing delivered).
    assert sends_by_recipient(sandbox, ready) == {c.wa_id: 1 for c in contacts}


def test_pair_rate_131056_is_retried_and_sent_once(ready, org_a, sandbox):
    contacts = tagged_contacts(org_a, 5)
    sandbox.add_fault("error_code", code=131056, count=2, path_regex="/messages$")
    campaign = planned_campaign(org_a)
    _in(org_a, campaign_start, campaign.pk)
    wait_state(org_a, campaign.pk, "completed", timeout=40)
    assert sends_by_recipient(sandbox, ready) == {c.wa_id: 1 for c in contacts}


def test_a_spike_of_131049_pauses_the_campaign_with_the_reason(ready, org_a, sandbox):
    from tenants.models import PhoneNumber

    PhoneNumber.objects.filter(phone_number_id=ready).update(messages_per_second=20)
    tagged_contacts(org_a, 150)
    sandbox.add_fault("error_code", code=131049, count=None, probability=1.0,
                      path_regex="/messages$")  # fmt: skip
    campaign = planned_campaign(org_a)
    _in(org_a, campaign_start, campaign.pk)
    paused = wait_state(org_a, campaign.pk, "paused", timeout=30)
    assert paused.pause_reason == "marketing_limit_spike"
    assert "131049" in paused.pause_detail
    with acting_as(org_a):
        counts = campaign_counts(campaign_id=campaign.pk)
        assert counts["pending"] > 0  # the rest waits for a person
