"""The API's stable representation of messages, contacts and media (integrators script against
these names: add fields, never rename or remove them)."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from whatsapp.models import Contact, ContactMerge, WhatsAppMedia, WhatsAppMessage


class MessageSerializer(serializers.ModelSerializer):
    contact = serializers.IntegerField(source="contact_id", read_only=True)
    wa_id = serializers.CharField(source="contact.wa_id", read_only=True, allow_null=True)
    user_id = serializers.CharField(
        source="contact.user_id",
        read_only=True,
        allow_null=True,
        help_text="The contact's business-scoped user id (BSUID), for username-only contacts.",
    )
    media = serializers.IntegerField(
        source="media_pk", read_only=True, allow_null=True, help_text="Media id, or null."
    )
    raw = serializers.JSONField(read_only=True, help_text="Meta's message object as received.")
    from_wa_id = serializers.CharField(
        read_only=True, help_text="Incoming: the sender's phone as Meta gave it on this message."
    )
    from_user_id = serializers.CharField(
        read_only=True, help_text="Incoming: the sender's BSUID as Meta gave it on this message."
    )
    revoked = serializers.BooleanField(read_only=True, help_text="Deleted by the customer.")
    edit_history = serializers.ListField(
        child=serializers.DictField(),
        read_only=True,
        help_text="Earlier versions, oldest first: {wamid, at, text, content}.",
    )
    context = serializers.SerializerMethodField(
        help_text="The message this one refers to (quoted reply, reaction, edit or revoke "
        "target): its wamid and, when stored here, its id; plus forwarding flags."
    )
    interactive = serializers.SerializerMethodField(
        help_text="Interactive replies: the button/list choice or the Flow's parsed response."
    )

    class Meta:
        model = WhatsAppMessage
        fields = [
            "id",
            "wamid",
            "direction",
            "type",
            "status",
            "contact",
            "wa_id",
            "user_id",
            "text",
            "timestamp",
            "media",
            "raw",
            "sent_at",
            "delivered_at",
            "read_at",
            "failed_at",
            "error_code",
            "error_title",
            "error_message",
            # Outgoing states (README "Outbound"): Meta's 200 and what it said, the receipts'
            # times, and our machine reason when the message failed.
            "accepted_at",
            "message_status",
            "played_at",
            "failure_reason",
            # A send being retried: how many attempts so far, and when the next one is due.
            "attempts",
            "next_attempt_at",
            "from_wa_id",
            "from_user_id",
            "edited_at",
            "edit_history",
            "revoked",
            "revoked_at",
            "context",
            "interactive",
        ]
        read_only_fields = fields

    @extend_schema_field(
        {
            "type": "object",
            "nullable": True,
            "properties": {
                "wamid": {"type": "string"},
                "id": {"type": "integer", "nullable": True},
                "forwarded": {"type": "boolean"},
                "frequently_forwarded": {"type": "boolean"},
            },
        }
    )
    def get_context(self, message: WhatsAppMessage) -> dict[str, Any] | None:
        quoted = message.content.get("context") if isinstance(message.content, dict) else None
        quoted = quoted if isinstance(quoted, dict) else {}
        if not message.context_wamid and not quoted:
            return None
        return {
            "wamid": message.context_wamid or None,
            "id": getattr(message, "context_pk", None),
            "forwarded": quoted.get("forwarded") is True,
            "frequently_forwarded": quoted.get("frequently_forwarded") is True,
        }

    @extend_schema_field(
        {
            "type": "object",
            "nullable": True,
            "properties": {
                "kind": {"type": "string"},
                "id": {"type": "string"},
                "title": {"type": "string"},
                "description": {"type": "string"},
                "body": {"type": "string"},
                "response": {"type": "object", "nullable": True},
            },
        }
    )
    def get_interactive(self, message: WhatsAppMessage) -> dict[str, Any] | None:
        content = message.content if isinstance(message.content, dict) else {}
        if message.type != "interactive":
            return None
        kind = content.get("type") if isinstance(content.get("type"), str) else ""
        part = content.get(kind) if isinstance(content.get(kind), dict) else {}
        response = content.get("response")
        return {
            "kind": kind,
            "id": str(part.get("id") or ""),
            "title": str(part.get("title") or ""),
            "description": str(part.get("description") or ""),
            "body": str(part.get("body") or ""),
            "response": response if isinstance(response, dict) else None,
        }


class ContactMergeSerializer(serializers.Serializer):
    merged_id = serializers.IntegerField(
        min_value=1, help_text="The contact folded into this one (and then deleted)."
    )
    reason = serializers.CharField(max_length=255, required=False, default="merged by an admin")


class ContactMergeResultSerializer(serializers.ModelSerializer):
    class Meta:
        model = ContactMerge
        fields = [
            "id",
            "survivor_contact_id",
            "merged_contact_id",
            "merged_wa_id",
            "merged_user_id",
            "reason",
            "actor",
            "moved_messages",
            "created_at",
        ]
        read_only_fields = fields


class ContactSerializer(serializers.ModelSerializer):
    class Meta:
        model = Contact
        # opted_out_at/opt_out_source: set when Meta refused marketing to this user (131050).
        fields = [
            "id",
            "wa_id",
            "user_id",
            "username",
            "name",
            "first_seen",
            "last_seen",
            "opted_out_at",
            "opt_out_source",
        ]
        read_only_fields = fields


class ContactDetailSerializer(ContactSerializer):
    messages = serializers.SerializerMethodField(
        help_text="The latest messages of the conversation, newest first."
    )
    messages_url = serializers.SerializerMethodField(help_text="The whole conversation, paginated.")

    class Meta(ContactSerializer.Meta):
        fields = [*ContactSerializer.Meta.fields, "messages", "messages_url"]
        read_only_fields = fields

    @extend_schema_field(MessageSerializer(many=True))
    def get_messages(self, contact: Contact) -> list[dict]:
        return MessageSerializer(self.context["recent_messages"], many=True).data

    @extend_schema_field(OpenApiTypes.URI)
    def get_messages_url(self, contact: Contact) -> str:
        url = f"{reverse('api_message_list')}?contact={contact.pk}"
        return self.context["request"].build_absolute_uri(url)


class MediaSerializer(serializers.ModelSerializer):
    message = serializers.IntegerField(source="message_id", read_only=True, allow_null=True)
    download_url = serializers.SerializerMethodField(
        help_text="Authenticated download of the bytes; null until the file is stored."
    )

    class Meta:
        model = WhatsAppMedia
        fields = ["id", "message", "mime_type", "size", "sha256", "state", "download_url"]
        read_only_fields = fields

    @extend_schema_field({"type": "string", "format": "uri", "nullable": True})
    def get_download_url(self, media: WhatsAppMedia) -> str | None:
        if media.state != WhatsAppMedia.State.STORED or not media.file:
            return None
        url = reverse("api_media_download", args=[media.pk])
        return self.context["request"].build_absolute_uri(url)
