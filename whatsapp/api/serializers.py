"""The API's stable representation of messages, contacts and media (integrators script against
these names: add fields, never rename or remove them)."""

from __future__ import annotations

from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from whatsapp.models import Contact, WhatsAppMedia, WhatsAppMessage


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
        ]
        read_only_fields = fields


class ContactSerializer(serializers.ModelSerializer):
    class Meta:
        model = Contact
        fields = ["id", "wa_id", "user_id", "username", "name", "first_seen", "last_seen"]
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
