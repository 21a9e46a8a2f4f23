"""An organization's number onboarding runs and the doctor's latest check-up of each number.

Tenant models (the organization's schema): a run is the organization's own data, never read
across organizations, and the webhook gateway calls handlers inside the tenant's schema already.
"""

from __future__ import annotations

from django.db import models


class NumberOnboarding(models.Model):
    """One run of connecting a number by Embedded Signup, resumable from its failed step.

    `steps` is the log, one entry per attempt: `{"step", "ok", "at" (ISO 8601), "answer"
    (Meta's answer without secrets), "error"?: {"code", "subcode", "message"}}`. The PIN is
    encrypted with the project's crypto (tenants.crypto), sealed to the organization.
    """

    class Step(models.TextChoices):
        CODE_EXCHANGE = "code_exchange", "Sign-in code exchanged for a token"
        WABA_SCOPE = "waba_scope", "WhatsApp Business Account in the token's permissions"
        SUBSCRIBE = "subscribe", "App subscribed to the account's webhooks"
        OVERRIDE = "override", "Webhooks sent to this platform"
        REGISTER = "register", "Number registered with a PIN"
        TEST_MESSAGE = "test_message", "Test message sent"
        ACCOUNT_UPDATE = "account_update", "Meta confirmed the account (account_update)"
        DONE = "done", "Connected"

    class State(models.TextChoices):
        RUNNING = "running", "Running"
        FAILED = "failed", "Needs attention"
        WAITING = "waiting", "Waiting for Meta"
        DONE = "done", "Connected"

    waba_id = models.CharField(max_length=64)
    phone_number_id = models.CharField(max_length=64)
    business_id = models.CharField(max_length=64, blank=True)
    test_recipient = models.CharField(max_length=32, blank=True)
    step = models.CharField(max_length=32, choices=Step.choices, default=Step.CODE_EXCHANGE)
    state = models.CharField(max_length=16, choices=State.choices, default=State.RUNNING)
    encrypted_pin = models.TextField(blank=True)
    problem = models.TextField(blank=True, help_text="The failure in plain words")
    error_code = models.IntegerField(null=True, blank=True)
    steps = models.JSONField(default=list, blank=True)
    created_by = models.CharField(max_length=254, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"onboarding {self.phone_number_id} at {self.step} ({self.state})"


class NumberCheckup(models.Model):
    """The doctor's latest findings for one number (replaced on each check; pages read only
    this, never Graph). `findings`: `[{"key", "label", "value", "level" (ok | warn | bad |
    unknown), "advice"}]`."""

    phone_number_id = models.CharField(max_length=64, unique=True)
    findings = models.JSONField(default=list, blank=True)
    problems = models.PositiveIntegerField(default=0)
    checked_at = models.DateTimeField()

    class Meta:
        ordering = ["phone_number_id"]

    def __str__(self) -> str:
        return f"checkup {self.phone_number_id}: {self.problems} problem(s)"
