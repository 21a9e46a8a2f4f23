"""A campaign (one template to an audience, paced through the one outbound pipeline) and its
recipients, one row per (campaign, contact).

A recipient's state is ours until it is dispatched (`pending`, `skipped` with a reason); then
it is linked to its outgoing `WhatsAppMessage` and follows that message's status (accepted,
sent, delivered, read, failed with Meta's code): the message row is the one record of what
Meta said, so nothing has to be copied back (`whatsapp.campaigns.services.progress`).
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from whatsapp.models import Contact, WhatsAppMessage


class Campaign(models.Model):
    class State(models.TextChoices):
        DRAFT = "draft", "Draft"
        PLANNED = "planned", "Planned"
        SCHEDULED = "scheduled", "Scheduled"
        RUNNING = "running", "Running"
        PAUSED = "paused", "Paused"
        COMPLETED = "completed", "Completed"
        CANCELLED = "cancelled", "Cancelled"

    # States in which the audience, template and mapping may still change (and be re-planned).
    EDITABLE = frozenset({State.DRAFT, State.PLANNED})
    FINAL = frozenset({State.COMPLETED, State.CANCELLED})

    name = models.CharField(max_length=200)
    phone_number_id = models.CharField(max_length=64, help_text="The sending number")
    template_name = models.CharField(max_length=512)
    template_language = models.CharField(max_length=16)
    # Frozen at planning (the price and Meta's US marketing rule depend on it).
    template_category = models.CharField(max_length=32, blank=True)
    # {"tags": ["vip"]} | {"contact_ids": [1, 2]} | {"csv": true} (the file comes with the plan)
    audience = models.JSONField(default=dict, blank=True)
    # {variable: {"field": <contact field> | "column": <csv column>, "fallback": "..."}}
    variables = models.JSONField(default=dict, blank=True)
    # Shared by every recipient: the send API's `header` / `buttons` of the template object.
    template_extras = models.JSONField(default=dict, blank=True)
    scheduled_at = models.DateTimeField(null=True, blank=True, help_text="Empty: send on start")
    rate_per_second = models.PositiveIntegerField(
        null=True, blank=True, help_text="Optional cap below the number's throughput"
    )
    state = models.CharField(max_length=16, choices=State.choices, default=State.DRAFT)
    # Why it is paused: "" (by a person), template_paused, template_disabled, quality_red,
    # marketing_limit_spike, spam_limit_spike; `pause_detail` says it in words.
    pause_reason = models.CharField(max_length=40, blank=True)
    pause_detail = models.TextField(blank=True)
    plan = models.JSONField(default=dict, blank=True, help_text="The stored flight plan")
    planned_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    # Last resume: Meta's refusals before it do not pause the campaign again.
    resumed_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    # The dispatcher's last run: a second chain finding it recent stops (one feeder per campaign).
    dispatched_at = models.DateTimeField(null=True, blank=True)
    created_by_id = models.BigIntegerField(null=True, blank=True, help_text="public user id")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["state"], name="campaign_state_idx")]

    def __str__(self) -> str:
        return f"{self.name} ({self.state})"


class CampaignRecipient(models.Model):
    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        QUEUED = "queued", "Dispatched"  # linked to its message; the message says the rest
        SKIPPED = "skipped", "Skipped"

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="recipients")
    # SET_NULL: a contact merge deletes the merged contact; the row keeps its `address`.
    contact = models.ForeignKey(
        Contact, null=True, on_delete=models.SET_NULL, related_name="campaign_rows"
    )
    address = models.CharField(max_length=160, help_text="wa_id digits or BSUID sent to")
    country = models.CharField(max_length=2, blank=True, help_text="ISO region of the number")
    # The variables resolved when the campaign was planned: {variable: value}.
    variables = models.JSONField(default=dict, blank=True)
    state = models.CharField(max_length=8, choices=State.choices, default=State.PENDING)
    skip_reason = models.CharField(max_length=40, blank=True)
    # 1 for the first send; a retry of a failed recipient sends attempt 2 with a new key.
    attempt = models.PositiveSmallIntegerField(default=1)
    message = models.OneToOneField(
        WhatsAppMessage, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    line = models.PositiveIntegerField(null=True, blank=True, help_text="CSV line, if any")
    dispatched_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "contact"],
                condition=Q(contact__isnull=False),
                name="uniq_campaign_contact",
            ),
        ]
        indexes = [models.Index(fields=["campaign", "state", "id"], name="campaign_rcpt_state_idx")]

    def __str__(self) -> str:
        return f"campaign {self.campaign_id} -> {self.address} ({self.state})"

    @property
    def idempotency_key(self) -> str:
        """The message's key: one send per (campaign, recipient, attempt), whoever dispatches."""
        return idempotency_key(self.campaign_id, self.pk, self.attempt)


def idempotency_key(campaign_id: int, recipient_id: int, attempt: int) -> str:
    return f"campaign:{campaign_id}:{recipient_id}:{attempt}"


def idempotency_prefix(campaign_id: int) -> str:
    return f"campaign:{campaign_id}:"
