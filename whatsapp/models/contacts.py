from __future__ import annotations

from django.db import models
from django.db.models import Q


class Contact(models.Model):
    """A WhatsApp user who wrote to, or was written to by, the organization.

    Keyed on the business-scoped user id (BSUID, `user_id`) when Meta gives one and on `wa_id`
    (the phone number's digits) otherwise: since 2026 a user with a username may have no visible
    phone number (Meta: business-scoped user ids), so both are nullable and each is unique when
    present.
    """

    # NULL, not "", for a missing id: the unique constraints must ignore absent ids.
    wa_id = models.CharField(max_length=32, null=True, blank=True)  # noqa: DJ001
    user_id = models.CharField(max_length=160, null=True, blank=True)  # noqa: DJ001
    parent_user_id = models.CharField(max_length=160, blank=True)
    username = models.CharField(max_length=100, blank=True)
    name = models.CharField(max_length=256, blank=True, help_text="WhatsApp profile name")
    first_seen = models.DateTimeField(null=True, blank=True)
    last_seen = models.DateTimeField(null=True, blank=True)
    last_inbound_at = models.DateTimeField(
        null=True, blank=True, help_text="Last message from the user: opens the 24-hour window"
    )
    opted_out_at = models.DateTimeField(
        null=True, blank=True, help_text="The user asked not to receive marketing messages"
    )
    # Where the opt-out came from, e.g. "meta_131050" (Meta refused a marketing message because
    # the user stopped them): no marketing message is retried to this contact.
    opt_out_source = models.CharField(max_length=40, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-last_seen", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["wa_id"], condition=Q(wa_id__isnull=False), name="uniq_contact_wa_id"
            ),
            models.UniqueConstraint(
                fields=["user_id"], condition=Q(user_id__isnull=False), name="uniq_contact_user_id"
            ),
            models.CheckConstraint(
                condition=Q(wa_id__isnull=False) | Q(user_id__isnull=False),
                name="contact_has_identity",
            ),
        ]
        indexes = [models.Index(fields=["-last_seen", "-id"], name="contact_last_seen_idx")]

    def __str__(self) -> str:
        return self.name or self.wa_id or self.user_id or f"contact {self.pk}"

    @property
    def address(self) -> str:
        """What Meta's send API takes for this contact: the phone digits, else the BSUID."""
        return self.wa_id or self.user_id or ""


class ContactIdentityChange(models.Model):
    """A contact's ids changed (`user_changed_number`, `user_id_update`, or a merge brought
    ids the survivor could not take): audit, and the way a late message sent from a former id
    before the change (`changed_at`, Meta's time) still finds its contact."""

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="former_ids")
    old_wa_id = models.CharField(max_length=32, blank=True)
    old_user_id = models.CharField(max_length=160, blank=True)
    new_wa_id = models.CharField(max_length=32, blank=True)
    new_user_id = models.CharField(max_length=160, blank=True)
    changed_at = models.DateTimeField(help_text="When Meta says the ids changed")
    reason = models.CharField(max_length=255)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-changed_at", "-id"]
        indexes = [
            models.Index(fields=["old_wa_id"], name="contact_former_wa_id_idx"),
            models.Index(fields=["old_user_id"], name="contact_former_user_id_idx"),
        ]

    def __str__(self) -> str:
        return f"contact {self.contact_id}: {self.reason}"


class ContactMerge(models.Model):
    """Audit of one merge: `merged_*` describe the contact that was folded into `survivor` and
    deleted (whatsapp.services.contacts.contact_merge)."""

    survivor = models.ForeignKey(
        Contact, null=True, on_delete=models.SET_NULL, related_name="merges"
    )
    survivor_contact_id = models.BigIntegerField()
    merged_contact_id = models.BigIntegerField()
    merged_wa_id = models.CharField(max_length=32, blank=True)
    merged_user_id = models.CharField(max_length=160, blank=True)
    merged_name = models.CharField(max_length=256, blank=True)
    reason = models.CharField(max_length=255)
    actor = models.CharField(max_length=255, blank=True, help_text="Who: a user, or the system")
    moved_messages = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"contact {self.merged_contact_id} merged into {self.survivor_contact_id}"
