from __future__ import annotations

from django.db import models
from django.utils import timezone

from whatsapp.models.contacts import Contact
from whatsapp.models.messages import WhatsAppMessage


class Conversation(models.Model):
    """The summary row of one conversation: a contact and one of the organization's numbers.

    Maintained by PostgreSQL triggers on the message table (migration 0009): one
    `INSERT ... ON CONFLICT DO UPDATE` per INSERT *statement* of messages (its transition table),
    so the inbound batch path, the per-item path, the send API, bulk creators and the admin all
    keep it right at one upsert per statement, and a message moved to another contact (a merge)
    moves its counts too. The inbox list reads these rows with one query, never one per
    conversation.

    - `last_message`/`last_message_at`: the newest message by Meta's timestamp, edits and
      revokes excepted (they change their original, which the list shows as it is now);
      `last_activity_at` counts them too and orders the list.
    - `last_inbound_at`: the customer's newest message to this number: Meta's 24-hour customer
      service window runs from it (per user and business number).
    - `unread_count`: customer messages since a team member last marked it read.
    - `version` grows on every change, `changed_at` is when: the live "changed since" check.
    """

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="conversations")
    phone_number_id = models.CharField(max_length=64, help_text="The organization's number")
    last_message = models.ForeignKey(
        WhatsAppMessage, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    last_message_at = models.DateTimeField(null=True, blank=True)
    last_activity_at = models.DateTimeField()
    last_inbound_at = models.DateTimeField(null=True, blank=True)
    unread_count = models.PositiveIntegerField(default=0)
    last_read_at = models.DateTimeField(null=True, blank=True)
    # A user of the public schema (users live there; README "Where users live"): an id, not a
    # foreign key, so that deleting a user never has to reach into every tenant schema.
    assignee_user_id = models.BigIntegerField(null=True, blank=True)
    version = models.BigIntegerField(default=1)
    changed_at = models.DateTimeField(default=timezone.now)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-last_activity_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["contact", "phone_number_id"], name="uniq_conversation_contact_number"
            ),
        ]
        indexes = [
            models.Index(fields=["-last_activity_at", "-id"], name="conversation_activity_idx"),
            models.Index(fields=["changed_at"], name="conversation_changed_idx"),
            models.Index(fields=["assignee_user_id"], name="conversation_assignee_idx"),
        ]

    def __str__(self) -> str:
        return f"conversation {self.pk}: contact {self.contact_id} on {self.phone_number_id}"


class ConversationNote(models.Model):
    """A note the team writes on a conversation; never sent to the customer."""

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="notes")
    author_user_id = models.BigIntegerField(null=True, blank=True)
    author_label = models.CharField(max_length=254, blank=True, help_text="Email when written")
    text = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"note {self.pk} on conversation {self.conversation_id}"


class ContactTag(models.Model):
    """A label the team puts on a contact (lower-case, unique per contact)."""

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="tags")
    name = models.CharField(max_length=50)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["contact", "name"], name="uniq_contact_tag"),
        ]
        indexes = [models.Index(fields=["name"], name="contact_tag_name_idx")]

    def __str__(self) -> str:
        return self.name
