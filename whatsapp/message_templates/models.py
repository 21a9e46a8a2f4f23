"""Tenant-schema models of the message templates feature."""

from __future__ import annotations

from django.db import models


class MessageTemplate(models.Model):
    """One template of one WABA in one language, as Meta last told us.

    `status`, `category` and `quality_score` keep Meta's strings (Meta adds values: unknown
    ones are stored, never refused). `components` are exactly as Meta returned them (the send
    builds its parameters from them). `pause_history` is a list of
    `{"at": ISO time, "event": "PAUSED"|"UNPAUSED"|"DISABLED", "title": "FIRST_PAUSE"|...,
    "description": str}`, oldest first. A template Meta no longer lists is kept with
    `deleted_at_meta` set (a sync never drops it silently).
    Meta: https://developers.facebook.com/docs/graph-api/reference/whats-app-business-hsm/
    """

    class Status(models.TextChoices):
        APPROVED = "APPROVED"
        PENDING = "PENDING"
        REJECTED = "REJECTED"
        PAUSED = "PAUSED"
        DISABLED = "DISABLED"
        IN_APPEAL = "IN_APPEAL"
        FLAGGED = "FLAGGED"
        REINSTATED = "REINSTATED"
        PENDING_DELETION = "PENDING_DELETION"
        DELETED = "DELETED"
        ARCHIVED = "ARCHIVED"
        LIMIT_EXCEEDED = "LIMIT_EXCEEDED"
        LOCKED = "LOCKED"

    class ParameterFormat(models.TextChoices):
        POSITIONAL = "POSITIONAL"
        NAMED = "NAMED"

    waba_id = models.CharField(max_length=64)
    name = models.CharField(max_length=512)
    language = models.CharField(max_length=16)
    meta_id = models.CharField(max_length=64, blank=True, db_index=True)
    category = models.CharField(max_length=32, blank=True)
    parameter_format = models.CharField(
        max_length=16, choices=ParameterFormat.choices, default=ParameterFormat.POSITIONAL
    )
    components = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=32, default=Status.PENDING)
    quality_score = models.CharField(max_length=16, default="UNKNOWN")
    rejection_reason = models.CharField(max_length=64, blank=True)
    rejection_recommendation = models.TextField(blank=True)
    previous_category = models.CharField(max_length=32, blank=True)
    announced_category = models.CharField(max_length=32, blank=True)
    category_change_at = models.DateTimeField(null=True, blank=True)
    pause_history = models.JSONField(default=list, blank=True)
    last_synced_at = models.DateTimeField(null=True, blank=True)
    deleted_at_meta = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "language"]
        constraints = [
            models.UniqueConstraint(
                fields=["waba_id", "name", "language"], name="message_template_waba_name_language"
            )
        ]
        indexes = [models.Index(fields=["status", "category"])]

    def __str__(self) -> str:
        return f"{self.name} ({self.language}, {self.status})"


class TemplateNotice(models.Model):
    """Something the organization should know about a template: a rejection with Meta's
    reason and recommendation, a pause with its duration, an announced category change (the
    price changes), a completed one, a quality change, a template gone at Meta.

    `change_id` is the webhook change that left it (unique: a replayed change adds nothing).
    """

    class Kind(models.TextChoices):
        APPROVED = "approved"
        REJECTED = "rejected"
        PAUSED = "paused"
        UNPAUSED = "unpaused"
        DISABLED = "disabled"
        STATUS = "status"
        QUALITY = "quality"
        CATEGORY_ANNOUNCED = "category_announced"
        CATEGORY_CHANGED = "category_changed"
        DELETED_AT_META = "deleted_at_meta"

    template = models.ForeignKey(
        MessageTemplate, null=True, blank=True, on_delete=models.SET_NULL, related_name="notices"
    )
    kind = models.CharField(max_length=32, choices=Kind.choices)
    message = models.TextField()
    data = models.JSONField(default=dict, blank=True)
    change_id = models.BigIntegerField(null=True, blank=True, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.kind}: {self.message[:60]}"
