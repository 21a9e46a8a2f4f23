"""The chatbot's rows, in each organization's schema.

- `ChatbotSettings`: one row (pk 1) per organization: business hours, welcome/away texts,
  takeover timeout, opt-out words, loop cut-off, the external bot's URL and encrypted secret.
- `ChatbotRule`: a trigger (`match_kind` + `pattern`) and a reply (`reply_kind` + `reply`), in
  `priority` order (lower first), optionally for one number and/or only inside a menu `step`.
- `ChatbotConversation`: the bot's state per (contact, our number): menu step and its expiry,
  human takeover lock, when welcome/away were last sent.
- `ChatbotTurn`: one row per inbound message the bot considered, unique on its wamid: the
  idempotency key that makes a redelivered or replayed message never get a second reply.
- `ExternalBotDelivery`: the delivery log of POSTs to the organization's external bot.
"""

from __future__ import annotations

from django.db import models

from whatsapp.models import Contact, WhatsAppMessage


class ChatbotSettings(models.Model):
    enabled = models.BooleanField(default=True)
    # IANA name; "" means the organization's own time zone when it has one, else UTC.
    time_zone = models.CharField(max_length=64, blank=True)
    # {"mon": [["09:00", "17:00"]], ..., "sun": []}; a range whose end is before its start
    # crosses midnight (["22:00", "02:00"] on fri is open fri 22:00 to sat 02:00). {} = always open.
    business_hours = models.JSONField(default=dict, blank=True)
    holidays = models.JSONField(default=list, blank=True, help_text='["2026-12-25", ...]')
    welcome_text = models.TextField(blank=True)
    away_text = models.TextField(blank=True)
    # Welcome and away are each sent at most once per conversation per this many hours.
    notice_period_hours = models.PositiveIntegerField(default=24)
    fallback_text = models.TextField(blank=True)
    takeover_hours = models.PositiveIntegerField(default=24)
    session_minutes = models.PositiveIntegerField(default=30)
    cancel_words = models.JSONField(default=list, blank=True)
    opt_out_words = models.JSONField(default=list, blank=True, help_text="Besides STOP")
    opt_out_confirmation = models.TextField(
        default="You will not receive marketing messages from us any more.", blank=True
    )
    max_replies_per_minute = models.PositiveIntegerField(default=5)
    external_bot_url = models.URLField(max_length=500, blank=True)
    external_bot_secret_encrypted = models.TextField(blank=True)
    external_bot_timeout_seconds = models.FloatField(default=5.0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return "chatbot settings"


class ChatbotRule(models.Model):
    class Match(models.TextChoices):
        EXACT = "exact"
        CONTAINS = "contains"
        STARTS_WITH = "starts_with"
        REGEX = "regex"
        INTERACTIVE_ID = "interactive_id"
        MESSAGE_TYPE = "message_type"

    class Reply(models.TextChoices):
        TEXT = "text"
        MEDIA = "media"
        BUTTONS = "buttons"
        LIST = "list"
        TEMPLATE = "template"
        HANDOFF = "handoff"
        EXTERNAL_BOT = "external_bot"

    name = models.CharField(max_length=120)
    enabled = models.BooleanField(default=True)
    priority = models.IntegerField(default=100, help_text="Lower runs first")
    phone_number_id = models.CharField(max_length=64, blank=True, help_text="Blank: every number")
    # Blank: a top-level rule. Otherwise the rule is only tried while the conversation is in
    # this menu step (set by a buttons/list reply's `next_step`).
    step = models.CharField(max_length=64, blank=True)
    match_kind = models.CharField(max_length=20, choices=Match.choices)
    pattern = models.CharField(max_length=500)
    ignore_case = models.BooleanField(default=True, help_text="Case- and accent-insensitive")
    reply_kind = models.CharField(max_length=20, choices=Reply.choices)
    # text: {"body"}; media: {"type": "image"|..., "link"|"id", "caption"?}; buttons:
    # {"body", "buttons": [{"id", "title"}]}; list: {"body", "button", "sections": [...]};
    # template: {"name", "language": {"code"}, "components"?}; handoff: {"body"?}.
    reply = models.JSONField(default=dict, blank=True)
    # Sent instead of the reply when the customer's 24-hour window is closed (only a template
    # may be sent then): the send API's template object, {"name", "language": {"code"},
    # "components"?} or {"name", "language", "parameters"?}. Null: the reply is skipped.
    window_template = models.JSONField(null=True, blank=True)
    next_step = models.CharField(max_length=64, blank=True, help_text="Menu step entered")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["priority", "id"]

    def __str__(self) -> str:
        return self.name


class ChatbotConversation(models.Model):
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="+")
    phone_number_id = models.CharField(max_length=64)
    step = models.CharField(max_length=64, blank=True)
    step_expires_at = models.DateTimeField(null=True, blank=True)
    takeover_until = models.DateTimeField(null=True, blank=True)
    takeover_reason = models.CharField(max_length=40, blank=True)
    welcomed_at = models.DateTimeField(null=True, blank=True)
    away_sent_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["contact", "phone_number_id"], name="uniq_chatbot_conversation"
            )
        ]

    def __str__(self) -> str:
        return f"conversation {self.contact_id}@{self.phone_number_id}"


class ChatbotTurn(models.Model):
    inbound_wamid = models.CharField(max_length=255, unique=True)
    message = models.ForeignKey(WhatsAppMessage, on_delete=models.CASCADE, related_name="+")
    conversation = models.ForeignKey(
        ChatbotConversation, on_delete=models.CASCADE, related_name="turns"
    )
    # opt_out, takeover, step, rule, external_bot, fallback, none, loop_cut, ignored, disabled
    action = models.CharField(max_length=20)
    rule = models.ForeignKey(ChatbotRule, null=True, blank=True, on_delete=models.SET_NULL)
    replies = models.PositiveSmallIntegerField(default=0)
    reply_ids = models.JSONField(default=list, blank=True)
    # Replies not sent, each {"reply": n, "type", "reason": a machine code (outside_customer_
    # window, quota_exceeded, invalid_content, ...), "message", "instead"?: "window_template"}.
    skipped = models.JSONField(null=True, blank=True)
    detail = models.CharField(max_length=255, blank=True)
    # How many times the message came back (Meta's redelivery, a replay) and got nothing more.
    repeats = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["conversation", "-created_at"], name="chatbot_turn_conv")]

    def __str__(self) -> str:
        return f"turn {self.inbound_wamid}: {self.action}"


class ExternalBotDelivery(models.Model):
    class State(models.TextChoices):
        PENDING = "pending"
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    turn = models.OneToOneField(ChatbotTurn, on_delete=models.CASCADE, related_name="delivery")
    url = models.URLField(max_length=500)
    state = models.CharField(max_length=12, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=255, blank=True)
    replies = models.PositiveSmallIntegerField(default=0)
    handoff = models.BooleanField(default=False)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"delivery {self.pk} ({self.state})"
