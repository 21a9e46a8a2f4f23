"""Input and output of the send API.

The request carries the message in Meta's own shape (Meta: messages reference):
`type` plus the object
named by it (`"text": {"body": ...}`, `"image": {"link"|"id", "caption"?}`,
`"interactive": {...}`, `"template": {...}`, `"contacts": [...]`), so a validation error's field
path (`text.body`, `interactive.action.buttons`) is the request's own path. Content rules are
`whatsapp.graph.payloads`' (checked by the service), not repeated here.

Multipart (a file upload): `to`, `type`, `file`, and optionally `caption`, `filename`,
`reply_to`, `phone_number_id`, or the type's object as a JSON string.

Meta pages:
- messages reference: https://developers.facebook.com/docs/whatsapp/cloud-api/reference/messages
"""

from __future__ import annotations

import json
from typing import Any

from rest_framework import serializers

from whatsapp.graph.payloads import MESSAGE_TYPES
from whatsapp.graph.sanitize import json_clean
from whatsapp.models import WhatsAppMessage


class SendMessageSerializer(serializers.Serializer):
    to = serializers.CharField(
        max_length=200,
        help_text="International phone number with country code (E.164, '+' optional), or the "
        "contact's business-scoped user id (BSUID).",
    )
    type = serializers.ChoiceField(choices=list(MESSAGE_TYPES))
    phone_number_id = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=64,
        help_text="The organization's number to send from; default: its first number.",
    )
    reply_to = serializers.CharField(
        required=False, allow_blank=True, max_length=255, help_text="wamid of a message to quote."
    )
    file = serializers.FileField(
        required=False, help_text="Multipart only: a media file, uploaded to Meta before sending."
    )
    caption = serializers.CharField(required=False, allow_blank=False, max_length=1024)
    filename = serializers.CharField(required=False, allow_blank=False, max_length=240)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        message_type = attrs["type"]
        raw = self.initial_data.get(message_type)
        if isinstance(raw, str):
            stripped = raw.strip()
            if message_type == "text" and not stripped.startswith("{"):
                raw = {"body": raw}
            else:
                try:
                    raw = json.loads(stripped) if stripped else None
                except ValueError:
                    raise serializers.ValidationError(
                        {message_type: ["Must be a JSON object."]}
                    ) from None
        if message_type == "contacts":
            content: dict[str, Any] = {"contacts": raw}
        else:
            content = dict(raw) if isinstance(raw, dict) else {}
            if raw is not None and not isinstance(raw, dict):
                raise serializers.ValidationError({message_type: ["Must be an object."]})
        for key in ("caption", "filename"):
            if key in attrs:
                content[key] = attrs.pop(key)
        if json_clean(content) is not content:
            # NUL and unpaired surrogates: JSON allows them, PostgreSQL and UTF-8 do not, and
            # Meta would refuse them too. Say so instead of failing on the INSERT.
            raise serializers.ValidationError(
                {message_type: ["Contains a NUL character or an unpaired surrogate."]}
            )
        attrs["content"] = content
        return attrs


class OutboundMessageSerializer(serializers.ModelSerializer):
    """The stored message: poll `GET /api/v1/messages/<id>/` for its later states."""

    to = serializers.CharField(source="recipient", read_only=True)
    media = serializers.SerializerMethodField()

    class Meta:
        model = WhatsAppMessage
        fields = [
            "id",
            "wamid",
            "status",
            "direction",
            "type",
            "to",
            "phone_number_id",
            "contact",
            "client_reference",
            "text",
            "content",
            "context_wamid",
            "media",
            "attempts",
            "failure_reason",
            "error_code",
            "error_title",
            "error_message",
            "timestamp",
            "accepted_at",
            "message_status",
            "sent_at",
            "delivered_at",
            "read_at",
            "played_at",
            "failed_at",
            "next_attempt_at",
        ]
        read_only_fields = fields

    def get_media(self, message: WhatsAppMessage) -> int | None:
        media = getattr(message, "media", None)
        return media.pk if media is not None else None
