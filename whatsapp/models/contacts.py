from __future__ import annotations

from django.db import models
from django.db.models import Q


class Contact(models.Model):
    """A WhatsApp user who wrote to, or was written to by, the organization.

    Keyed on the business-scoped user id (BSUID, `user_id`) when Meta gives one and on `wa_id`
    (the phone number's digits) otherwise: since 2026 a user with a username may have no visible
    phone number (reference §16), so both are nullable and each is unique when present.
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
    # Meta answered 131050 ("user stopped marketing messages"): no marketing template is sent
    # to this contact again. The time and where we learnt it (e.g. "meta_131050").
    marketing_opted_out_at = models.DateTimeField(null=True, blank=True)
    marketing_opt_out_source = models.CharField(max_length=40, blank=True)
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
