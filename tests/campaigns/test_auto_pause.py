"""Campaigns pause themselves on Meta's signals and resume when Meta allows: the template's
status webhook (PAUSED, then APPROVED with UNPAUSE; DISABLED, then REINSTATED) and the number's
quality dropping to RED,
each delivered by the sandbox through the shared webhook endpoint and the webhook worker."""

from __future__ import annotations

import time

import pytest

from tests.campaigns.conftest import (
    NUMBER_IDS,
    acting_as,
    planned_campaign,
    sends_by_recipient,
    tagged_contacts,
    wait_state,
)
from tests.conftest import wait_for
from whatsapp.campaigns.services.execution import campaign_resume, campaign_start
from whatsapp.campaigns.services.progress import campaign_counts

pytestmark = pytest.mark.integration


@pytest.fixture
def paced(ready, settings, webhook_worker) -> str:
    """`ready` at 10/s with one second of sends queued ahead, webhooks applied."""
    from tenants.models import PhoneNumber

    settings.CAMPAIGN_LOOKAHEAD_SECONDS = 1.0
    PhoneNumber.objects.filter(phone_number_id=ready).update(messages_per_second=10)
    return ready


def _sent(sandbox, number_id) -> int:
    return sum(sends_by_recipient(sandbox, number_id).values())


def _running(org_a, sandbox, number_id: str, *, recipients: int, sent: int):
    """`recipients` tagged contacts and a campaign to them, started and `sent` sends in."""
    contacts = tagged_contacts(org_a, recipients)
    campaign = planned_campaign(org_a)
    with acting_as(org_a):
        campaign_start(campaign_id=campaign.pk)
    wait_for(lambda: _sent(sandbox, number_id) >= sent, timeout=20)
    return contacts, campaign


def test_template_paused_by_webhook_pauses_and_unpause_resumes(paced, org_a, sandbox):
    contacts, campaign = _running(org_a, sandbox, paced, recipients=50, sent=5)
    waba = f"9{NUMBER_IDS['alpha']}"
    sandbox.pause_template("promo", waba_id=waba, other_info={"title": "FIRST_PAUSE"})
    paused = wait_state(org_a, campaign.pk, "paused")
    assert paused.pause_reason == "template_paused"
    assert "paused the template promo" in paused.pause_detail
    time.sleep(1.0)
    during = _sent(sandbox, paced)
    assert during < 50
    sandbox.set_template_status("promo", "APPROVED", waba_id=waba, other_info={"title": "UNPAUSE"})
    wait_state(org_a, campaign.pk, "running", "completed")
    wait_state(org_a, campaign.pk, "completed", timeout=40)
    # Sends Meta refused (132015) before its webhook arrived were sent again after the unpause:
    # every recipient accepted exactly once.
    assert sends_by_recipient(sandbox, paced) == {c.wa_id: 1 for c in contacts}
    with acting_as(org_a):
        assert campaign_counts(campaign_id=campaign.pk)["accepted"] == 50


def test_template_disabled_by_webhook_pauses_and_reinstated_resumes(paced, org_a, sandbox):
    """Meta's REINSTATED means the template is approved again: it is stored APPROVED (so the
    sends are not refused), and the campaigns it paused continue."""
    from whatsapp.message_templates.models import MessageTemplate

    contacts, campaign = _running(org_a, sandbox, paced, recipients=40, sent=5)
    waba = f"9{NUMBER_IDS['alpha']}"
    sandbox.set_template_status("promo", "DISABLED", waba_id=waba)
    paused = wait_state(org_a, campaign.pk, "paused")
    assert paused.pause_reason == "template_disabled"
    sandbox.set_template_status("promo", "REINSTATED", waba_id=waba)
    wait_state(org_a, campaign.pk, "completed", timeout=40)
    with acting_as(org_a):
        assert MessageTemplate.objects.get(name="promo").status == "APPROVED"
        assert campaign_counts(campaign_id=campaign.pk)["accepted"] == 40
    assert sends_by_recipient(sandbox, paced) == {c.wa_id: 1 for c in contacts}


def test_quality_red_pauses_until_a_person_resumes(paced, org_a, sandbox):
    contacts, campaign = _running(org_a, sandbox, paced, recipients=40, sent=3)
    waba = f"9{NUMBER_IDS['alpha']}"
    sandbox.post_raw_webhook(
        {
            "object": "whatsapp_business_account",
            "entry": [
                {
                    "id": waba,
                    "time": int(time.time()),
                    "changes": [
                        {
                            "field": "phone_number_quality_update",
                            "value": {
                                "display_phone_number": f"1555{paced[-7:]}",
                                "event": "FLAGGED",
                                "current_limit": "TIER_1K",
                                "quality_rating": "RED",
                            },
                        }
                    ],
                }
            ],
        }
    )
    paused = wait_state(org_a, campaign.pk, "paused")
    assert paused.pause_reason == "quality_red"
    # The template hook does not resume a quality pause; a person does, once quality is back.
    from tenants.models import PhoneNumber

    PhoneNumber.objects.filter(phone_number_id=paced).update(quality_rating="GREEN")
    with acting_as(org_a):
        assert campaign_resume(campaign_id=campaign.pk, only_reasons={"template_paused"}).state == (
            "paused"
        )
        campaign_resume(campaign_id=campaign.pk)
    wait_state(org_a, campaign.pk, "completed", timeout=40)
    assert sends_by_recipient(sandbox, paced) == {c.wa_id: 1 for c in contacts}
