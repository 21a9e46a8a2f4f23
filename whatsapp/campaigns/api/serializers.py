"""Campaign API shapes: one representation per resource, every input through a serializer."""

from __future__ import annotations

from rest_framework import serializers

from whatsapp.campaigns.models import Campaign, CampaignRecipient


class VariableSpecSerializer(serializers.Serializer):
    field = serializers.CharField(required=False, allow_blank=True)
    column = serializers.CharField(required=False, allow_blank=True)
    fallback = serializers.CharField(required=False, allow_blank=True)


class AudienceSerializer(serializers.Serializer):
    tags = serializers.ListField(child=serializers.CharField(max_length=50), required=False)
    contact_ids = serializers.ListField(child=serializers.IntegerField(), required=False)
    csv = serializers.BooleanField(required=False)


class CampaignCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    template_name = serializers.CharField(max_length=512)
    template_language = serializers.CharField(max_length=16)
    phone_number_id = serializers.CharField(max_length=64, required=False, allow_blank=True)
    audience = AudienceSerializer()
    variables = serializers.DictField(child=VariableSpecSerializer(), required=False)
    template_extras = serializers.DictField(required=False)
    scheduled_at = serializers.DateTimeField(required=False, allow_null=True)
    rate_per_second = serializers.IntegerField(required=False, allow_null=True, min_value=1)


class ProgressSerializer(serializers.Serializer):
    counts = serializers.DictField(child=serializers.IntegerField())
    total = serializers.IntegerField()
    done = serializers.IntegerField()
    share_done = serializers.FloatField()
    rate_per_second = serializers.FloatField()
    eta_seconds = serializers.IntegerField(allow_null=True)


class FailureSerializer(serializers.Serializer):
    kind = serializers.CharField()
    code = serializers.IntegerField(allow_null=True)
    reason = serializers.CharField()
    count = serializers.IntegerField()


class CampaignSerializer(serializers.ModelSerializer):
    # Plain text in the schema: an enum named "state" would collide with other resources'.
    state = serializers.CharField(
        read_only=True,
        help_text="draft | planned | scheduled | running | paused | completed | cancelled",
    )

    class Meta:
        model = Campaign
        fields = [
            "id",
            "name",
            "state",
            "phone_number_id",
            "template_name",
            "template_language",
            "template_category",
            "audience",
            "variables",
            "template_extras",
            "scheduled_at",
            "rate_per_second",
            "pause_reason",
            "pause_detail",
            "plan",
            "planned_at",
            "started_at",
            "completed_at",
            "cancelled_at",
            "created_at",
        ]
        read_only_fields = fields


class CampaignDetailSerializer(CampaignSerializer):
    progress = ProgressSerializer(read_only=True)
    failures = FailureSerializer(many=True, read_only=True)

    class Meta(CampaignSerializer.Meta):
        fields = [*CampaignSerializer.Meta.fields, "progress", "failures"]
        read_only_fields = fields


class PlanSerializer(serializers.Serializer):
    csv = serializers.FileField(required=False, help_text="The audience file of a CSV campaign")


class RetrySerializer(serializers.Serializer):
    codes = serializers.ListField(
        child=serializers.IntegerField(),
        required=False,
        help_text="Meta's error codes to retry (with `reasons` empty too: every failed one)",
    )
    reasons = serializers.ListField(
        child=serializers.CharField(max_length=40),
        required=False,
        help_text="Failure reasons to retry, e.g. send_unconfirmed, campaign_cancelled",
    )


class RetryResultSerializer(serializers.Serializer):
    reset = serializers.IntegerField()


class RecipientSerializer(serializers.ModelSerializer):
    state = serializers.CharField(source="current_state")
    wamid = serializers.CharField(source="message.wamid", default=None)
    error_code = serializers.IntegerField(source="message.error_code", default=None)
    failure_reason = serializers.CharField(source="message.failure_reason", default="")
    error_message = serializers.CharField(source="message.error_message", default="")

    class Meta:
        model = CampaignRecipient
        fields = [
            "id",
            "contact_id",
            "address",
            "country",
            "line",
            "state",
            "skip_reason",
            "attempt",
            "variables",
            "message_id",
            "wamid",
            "error_code",
            "failure_reason",
            "error_message",
            "dispatched_at",
        ]
        read_only_fields = fields
