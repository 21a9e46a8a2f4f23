"""Serializers of the chatbot API: every input is validated here (patterns compiled with RE2,
replies checked against Meta's payload rules, business hours parsed)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from rest_framework import serializers

from tenants.models import PhoneNumber
from whatsapp.chatbot.engine import rule_reply
from whatsapp.chatbot.hours import HoursError, hours_check
from whatsapp.chatbot.matching import PatternError, pattern_check
from whatsapp.chatbot.models import ChatbotRule, ChatbotSettings, ExternalBotDelivery
from whatsapp.errors import InvalidContentError
from whatsapp.services.outbound.rules import current_organization, message_payload

# Any syntactically valid recipient: only the reply's content is being checked.
_CHECK_RECIPIENT = "15550000000"


class ChatbotRuleSerializer(serializers.ModelSerializer):
    class Meta:
        model = ChatbotRule
        fields = [
            "id",
            "name",
            "enabled",
            "priority",
            "phone_number_id",
            "step",
            "match_kind",
            "pattern",
            "ignore_case",
            "reply_kind",
            "reply",
            "window_template",
            "next_step",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]

    def validate_phone_number_id(self, value: str) -> str:
        """Blank (every number) or one of this organization's numbers."""
        organization = current_organization()
        if (
            value
            and not PhoneNumber.objects.filter(
                organization=organization, phone_number_id=value
            ).exists()
        ):
            raise serializers.ValidationError("Not one of this organization's numbers.")
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        merged = {
            field: attrs.get(field, getattr(self.instance, field, None))
            for field in ("match_kind", "pattern", "ignore_case", "reply_kind", "reply")
        }
        try:
            pattern_check(
                match_kind=merged["match_kind"],
                pattern=merged["pattern"] or "",
                ignore_case=bool(
                    merged["ignore_case"] if merged["ignore_case"] is not None else True
                ),
            )
        except PatternError as exc:
            raise serializers.ValidationError({"pattern": str(exc)}) from exc
        _window_template_check(attrs.get("window_template"))
        reply = merged["reply"] or {}
        if not isinstance(reply, dict):
            raise serializers.ValidationError({"reply": "An object."})
        kind = merged["reply_kind"]
        if kind == "list" and not isinstance(reply.get("sections"), list):
            raise serializers.ValidationError({"reply": "A list reply needs `sections`."})
        if kind in ("text", "media", "buttons", "list", "template"):
            try:
                replies = rule_reply(SimpleNamespace(reply_kind=kind, reply=reply))
            except (KeyError, TypeError) as exc:
                raise serializers.ValidationError({"reply": f"Missing {exc}."}) from exc
            if not replies:
                raise serializers.ValidationError({"reply": "This reply sends nothing."})
            for item in replies:
                _content_check(item.type, item.content, field="reply")
        return attrs


def _content_check(message_type: str, content: dict[str, Any], *, field: str) -> None:
    """Meta's payload rules for one outbound message (ValidationError on `field`)."""
    try:
        message_payload(
            recipient=_CHECK_RECIPIENT,
            message_type=message_type,
            content=content,
            callback_data="00000000-0000-0000-0000-000000000000",
        )
    except InvalidContentError as exc:
        raise serializers.ValidationError(
            {field: f"{exc.field}: {exc.message}" if exc.field else exc.message}
        ) from exc


def _window_template_check(template: Any) -> None:
    if template is None:
        return
    if not isinstance(template, dict) or not template.get("name") or not template.get("language"):
        raise serializers.ValidationError(
            {"window_template": 'A template object: {"name", "language": {"code"}, ...}.'}
        )
    content = {k: v for k, v in template.items() if k in ("name", "language", "components")}
    if isinstance(content["language"], str):
        content["language"] = {"code": content["language"]}
    _content_check("template", content, field="window_template")


class RuleOrderSerializer(serializers.Serializer):
    ids = serializers.ListField(
        child=serializers.IntegerField(), allow_empty=False, max_length=1000
    )


class ChatbotSettingsSerializer(serializers.ModelSerializer):
    external_bot_secret = serializers.CharField(
        write_only=True,
        required=False,
        allow_blank=True,
        max_length=256,
        help_text="Write only; stored encrypted. Blank removes it.",
    )
    external_bot_secret_set = serializers.SerializerMethodField()

    class Meta:
        model = ChatbotSettings
        fields = [
            "enabled",
            "time_zone",
            "business_hours",
            "holidays",
            "welcome_text",
            "away_text",
            "notice_period_hours",
            "fallback_text",
            "takeover_hours",
            "session_minutes",
            "cancel_words",
            "opt_out_words",
            "opt_out_confirmation",
            "max_replies_per_minute",
            "external_bot_url",
            "external_bot_secret",
            "external_bot_secret_set",
            "external_bot_timeout_seconds",
            "updated_at",
        ]
        read_only_fields = ["updated_at"]
        extra_kwargs = {
            "external_bot_timeout_seconds": {"min_value": 0.5, "max_value": 10.0},
            "max_replies_per_minute": {"min_value": 1, "max_value": 60},
        }

    def get_external_bot_secret_set(self, obj: ChatbotSettings) -> bool:
        return bool(obj.external_bot_secret_encrypted)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        try:
            hours_check(
                business_hours=attrs.get("business_hours", self.instance.business_hours),
                holidays=attrs.get("holidays", self.instance.holidays),
                time_zone=attrs.get("time_zone", self.instance.time_zone),
            )
        except HoursError as exc:
            raise serializers.ValidationError({"business_hours": str(exc)}) from exc
        for field in ("cancel_words", "opt_out_words"):
            words = attrs.get(field)
            if words is not None and (
                not isinstance(words, list) or not all(isinstance(w, str) for w in words)
            ):
                raise serializers.ValidationError({field: "A list of words."})
        return attrs


class SimulateSerializer(serializers.Serializer):
    text = serializers.CharField(required=False, allow_blank=True, max_length=4096, default="")
    type = serializers.CharField(required=False, max_length=32, default="text")
    interactive_id = serializers.CharField(required=False, allow_blank=True, default="")
    contact_id = serializers.IntegerField(required=False, help_text="Use this contact's state")
    phone_number_id = serializers.CharField(required=False, allow_blank=True, default="")


class SimulatedReplySerializer(serializers.Serializer):
    type = serializers.CharField()
    content = serializers.JSONField()


class SimulationSerializer(serializers.Serializer):
    action = serializers.CharField()
    replies = SimulatedReplySerializer(many=True)
    rule_id = serializers.IntegerField(allow_null=True)
    step = serializers.CharField(allow_null=True)
    takeover = serializers.BooleanField()
    opt_out = serializers.BooleanField()
    call_external_bot = serializers.BooleanField()
    notices = serializers.ListField(child=serializers.CharField())
    detail = serializers.CharField()


class ReleaseSerializer(serializers.Serializer):
    contact_id = serializers.IntegerField()
    phone_number_id = serializers.CharField(required=False, allow_blank=True, default="")


class ExternalBotDeliverySerializer(serializers.ModelSerializer):
    inbound_wamid = serializers.CharField(source="turn.inbound_wamid", read_only=True)

    class Meta:
        model = ExternalBotDelivery
        fields = [
            "id",
            "inbound_wamid",
            "url",
            "state",
            "attempts",
            "last_status_code",
            "last_error",
            "replies",
            "handoff",
            "next_attempt_at",
            "created_at",
            "updated_at",
        ]
