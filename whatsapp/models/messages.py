from __future__ import annotations

import uuid

from django.db import models

from whatsapp.models.contacts import Contact


class WhatsAppMessage(models.Model):
    """One message, incoming or outgoing, of any type Meta knows (or will invent).

    The raw Meta object is kept beside the typed fields so that nothing Meta sends is lost.
    Outgoing messages are created `queued` and sent by the outbound pipeline; statuses only move
    forward (`STATUS_RANK`), whatever order Meta's receipts arrive in. Each state says what Meta
    said: `accepted` is Meta's 200 (a wamid, `accepted_at`, Meta's `message_status` such as
    `held_for_quality_assessment`); `sent`, `delivered`, `read`, `played` and `failed` come from
    status webhooks (or, for `failed`, from the synchronous error answer), each with its time.
    See https://developers.facebook.com/docs/whatsapp/cloud-api/webhooks/components
    """

    class Direction(models.TextChoices):
        INCOMING = "incoming", "Incoming"
        OUTGOING = "outgoing", "Outgoing"

    class Status(models.TextChoices):
        RECEIVED = "received", "Received"
        QUEUED = "queued", "Queued"
        SENDING = "sending", "Sending"
        ACCEPTED = "accepted", "Accepted by Meta"
        SENT = "sent", "Sent"
        DELIVERED = "delivered", "Delivered"
        READ = "read", "Read"
        PLAYED = "played", "Played"
        FAILED = "failed", "Failed"

    # Order of an outgoing message's life; a receipt never moves a message to a lower rank.
    STATUS_RANK = {
        Status.QUEUED: 0,
        Status.SENDING: 1,
        Status.ACCEPTED: 2,
        Status.SENT: 3,
        Status.DELIVERED: 4,
        Status.READ: 5,
        Status.PLAYED: 6,
        Status.FAILED: 7,
    }
    # States after which our pipeline has nothing left to do (Meta's receipts may still come).
    FINAL_SEND_STATES = frozenset(
        {Status.ACCEPTED, Status.SENT, Status.DELIVERED, Status.READ, Status.PLAYED, Status.FAILED}
    )

    # NULL until Meta accepts an outgoing message; unique once known (dedupes redeliveries).
    wamid = models.CharField(max_length=255, null=True, blank=True, unique=True)
    # Sent to Meta as biz_opaque_callback_data and echoed in statuses: ties a receipt to this
    # row even when the send call timed out before Meta's answer (and its wamid) reached us.
    client_reference = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # The API client's Idempotency-Key: a retried send request returns this row, not a new one.
    idempotency_key = models.CharField(max_length=255, null=True, blank=True, unique=True)
    direction = models.CharField(max_length=8, choices=Direction.choices)
    phone_number_id = models.CharField(max_length=64, help_text="The organization's number")
    contact = models.ForeignKey(Contact, on_delete=models.PROTECT, related_name="messages")
    recipient = models.CharField(
        max_length=160, blank=True, help_text="Outgoing: the phone number or BSUID sent to"
    )
    type = models.CharField(max_length=32)
    status = models.CharField(max_length=16, choices=Status.choices)
    text = models.TextField(blank=True, help_text="Body or caption")
    content = models.JSONField(default=dict, blank=True, help_text="Typed content of the type")
    raw = models.JSONField(default=dict, blank=True, help_text="Meta's message object as received")
    context_wamid = models.CharField(
        max_length=255,
        blank=True,
        help_text="The message this one refers to: quoted reply, reaction/edit/revoke target",
    )
    # The sender ids exactly as Meta gave them on this message (`from`, `from_user_id`): kept
    # when the contact's number or BSUID later changes, or the contact is merged.
    from_wa_id = models.CharField(max_length=32, blank=True)
    from_user_id = models.CharField(max_length=160, blank=True)
    edited_at = models.DateTimeField(null=True, blank=True, help_text="Latest customer edit")
    # Earlier versions, oldest first: [{"text", "content", "at", "wamid"}] (the original's own
    # version first, then each edit but the latest, which is `text`/`content`).
    edit_history = models.JSONField(default=list, blank=True)
    revoked_at = models.DateTimeField(
        null=True, blank=True, help_text="When the customer deleted it for everyone"
    )
    timestamp = models.DateTimeField(help_text="When Meta says it was sent or received")
    # Outgoing: Meta's 200 to our send (not a delivery: the outcome comes as status webhooks).
    accepted_at = models.DateTimeField(null=True, blank=True)
    # Meta's `messages[].message_status` in that 200: accepted, held_for_quality_assessment, ...
    message_status = models.CharField(max_length=40, blank=True)
    # Set by the `sent` status webhook (Meta handed it to WhatsApp), never by the 200.
    sent_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)
    played_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)
    # A deferred retry (e.g. 131049, Meta's per-user marketing limit: not before 24 h); the
    # sweeper enqueues a `queued` row once this has passed.
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    pricing = models.JSONField(
        default=dict,
        blank=True,
        help_text="Meta's latest `pricing` and `conversation` blocks from status receipts",
    )
    error_code = models.IntegerField(null=True, blank=True)
    error_title = models.CharField(max_length=255, blank=True)
    error_message = models.TextField(blank=True)
    # Our machine code for a failed send (Meta's own code, if any, is in error_code): meta_error,
    # retries_exhausted, sending_halted, send_unconfirmed, outside_customer_window,
    # marketing_opted_out, template_paused, ... (whatsapp.services.outbound.policy)
    failure_reason = models.CharField(max_length=40, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-timestamp", "-id"]
        indexes = [
            models.Index(fields=["-timestamp", "-id"], name="msg_timestamp_idx"),
            models.Index(fields=["direction", "-timestamp", "-id"], name="msg_direction_idx"),
            models.Index(fields=["contact", "-timestamp", "-id"], name="msg_contact_idx"),
            models.Index(fields=["status", "-timestamp"], name="msg_status_idx"),
            models.Index(fields=["type", "-timestamp"], name="msg_type_idx"),
            # Edits, revokes, reactions and replies find what they refer to (either order).
            models.Index(fields=["context_wamid"], name="msg_context_wamid_idx"),
            # Plus `msg_text_trgm_idx`, a trigram GIN index on UPPER(text) for the API's `q`
            # search, created in SQL by migration 0004 (Django renders OpClass over an
            # expression without the parentheses PostgreSQL needs).
        ]

    def __str__(self) -> str:
        return f"{self.direction} {self.type} {self.wamid or self.pk} ({self.status})"

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None

    @property
    def is_outgoing(self) -> bool:
        return self.direction == self.Direction.OUTGOING
