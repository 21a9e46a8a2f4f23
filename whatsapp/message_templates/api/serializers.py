"""Input and output of the templates API."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from whatsapp.message_templates.models import MessageTemplate, TemplateNotice


class TemplateNoticeSerializer(serializers.ModelSerializer):
    class Meta:
        model = TemplateNotice
        fields = ["id", "kind", "message", "data", "created_at"]
        read_only_fields = fields


class TemplateSerializer(serializers.ModelSerializer):
    """A stored template: Meta's status, quality, reasons and category news beside its
    components as Meta returned them."""

    class Meta:
        model = MessageTemplate
        fields = [
            "id",
            "waba_id",
            "name",
            "language",
            "meta_id",
            "category",
            "parameter_format",
            "components",
            "status",
            "quality_score",
            "rejection_reason",
            "rejection_recommendation",
            "previous_category",
            "announced_category",
            "category_change_at",
            "pause_history",
            "last_synced_at",
            "deleted_at_meta",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class TemplateDetailSerializer(TemplateSerializer):
    notices = serializers.SerializerMethodField()

    class Meta(TemplateSerializer.Meta):
        fields = [*TemplateSerializer.Meta.fields, "notices"]
        read_only_fields = fields

    def get_notices(self, template: MessageTemplate) -> list[dict[str, Any]]:
        return TemplateNoticeSerializer(template.notices.all()[:50], many=True).data


class TemplateCreateSerializer(serializers.Serializer):
    """Meta's create body (`name`, `language`, `category`, `parameter_format`?, `components`);
    the local review checks run in the service and name the failing field."""

    waba_id = serializers.CharField(
        required=False, max_length=64, help_text="Default: the organization's first WABA."
    )
    name = serializers.CharField(max_length=512)
    language = serializers.CharField(max_length=16)
    category = serializers.CharField(max_length=32)
    parameter_format = serializers.CharField(required=False, max_length=16)
    components = serializers.ListField(child=serializers.DictField(), allow_empty=False)


class TemplateEditSerializer(serializers.Serializer):
    """What Meta lets one edit: the components and/or the category (back to review)."""

    components = serializers.ListField(
        child=serializers.DictField(), allow_empty=False, required=False
    )
    category = serializers.CharField(max_length=32, required=False)


class TemplateDeleteSerializer(serializers.Serializer):
    all_languages = serializers.BooleanField(
        default=False, help_text="Delete the template in every language (by name)."
    )


class TemplateSyncSerializer(serializers.Serializer):
    waba_id = serializers.CharField(
        required=False, max_length=64, help_text="Default: every WABA of the organization."
    )


class TemplateSyncResultSerializer(serializers.Serializer):
    wabas = serializers.ListField(child=serializers.CharField())
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    deleted_at_meta = serializers.IntegerField()


class HeaderHandleSerializer(serializers.Serializer):
    format = serializers.ChoiceField(choices=["IMAGE", "VIDEO", "DOCUMENT"])
    file = serializers.FileField(help_text="The example shown to Meta's reviewers.")


class HeaderHandleResultSerializer(serializers.Serializer):
    handle = serializers.CharField(help_text="Put it in the HEADER's example.header_handle.")
