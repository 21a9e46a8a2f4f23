"""Reactions to Meta's template events (settings `WHATSAPP_TEMPLATE_STATUS_HOOKS`, called by
the `message_template_status_update` handler in whatsapp.message_templates): a template that
Meta paused or disabled pauses every running campaign sending it; APPROVED after a pause
(Meta's UNPAUSE) or REINSTATED resumes the campaigns that the template had paused (not those a
person paused) and sends again to the recipients Meta refused with 132015/132016 meanwhile. https://developers.facebook.com/docs/whatsapp/business-management-api/message-templates/template-pausing
"""

from __future__ import annotations

from typing import Any

from tenants.models import PhoneNumber
from whatsapp.campaigns.models import Campaign
from whatsapp.campaigns.services.execution import (
    TEMPLATE_CODES,
    TEMPLATE_REASONS,
    campaign_pause,
    campaign_resume,
    campaign_retry,
)

PAUSING = {"PAUSED": "template_paused", "DISABLED": "template_disabled"}
RESUMING = frozenset({"APPROVED", "REINSTATED"})


def _campaigns(template: Any):
    # This schema's campaigns only name this organization's numbers (ids are unique).
    numbers = PhoneNumber.objects.filter(waba_id=template.waba_id).values_list(
        "phone_number_id", flat=True
    )
    return Campaign.objects.filter(
        phone_number_id__in=list(numbers),
        template_name=template.name,
        template_language=template.language,
    )


def template_status_hook(*, template: Any, status: str, previous: str = "") -> None:
    """Pause or resume the campaigns that send `template` (see the module docstring)."""
    status = (status or "").upper()
    if status in PAUSING:
        running = _campaigns(template).filter(
            state__in=[Campaign.State.RUNNING, Campaign.State.SCHEDULED]
        )
        for campaign_id in running.values_list("pk", flat=True):
            campaign_pause(
                campaign_id=campaign_id,
                reason=PAUSING[status],
                detail=f"Meta {status.lower()} the template {template.name} ({template.language}).",
            )
    elif status in RESUMING:
        paused = _campaigns(template).filter(
            state=Campaign.State.PAUSED, pause_reason__in=TEMPLATE_REASONS
        )
        for campaign_id in paused.values_list("pk", flat=True):
            campaign_resume(campaign_id=campaign_id, only_reasons=TEMPLATE_REASONS)
            # Sends Meta refused while the template was paused or disabled (the webhook can
            # arrive after the first refusals) go again: the template, not the recipient,
            # failed them.
            campaign_retry(campaign_id=campaign_id, codes=list(TEMPLATE_CODES))
