"""Query filters of the list endpoints (django-filter; documented in the OpenAPI schema)."""

from __future__ import annotations

from datetime import UTC, datetime

from django import forms
from django.core.exceptions import ValidationError
from django_filters import rest_framework as filters
from django_filters.fields import IsoDateTimeField

from whatsapp.models import Contact, WhatsAppMedia, WhatsAppMessage


class UtcIsoDateTimeField(IsoDateTimeField):
    """ISO 8601 with any offset Python accepts, normalised to UTC: PostgreSQL refuses offsets
    beyond +-15:59 (the fuzzer sent +17:00), and UTC is what the column stores anyway."""

    def to_python(self, value: object) -> datetime | None:
        parsed = super().to_python(value)
        if parsed is None:
            return None
        try:
            return parsed.astimezone(UTC)
        except OverflowError as exc:
            raise ValidationError("Date out of range.", code="invalid") from exc


class UtcIsoDateTimeFilter(filters.IsoDateTimeFilter):
    field_class = UtcIsoDateTimeField


class IdFilter(filters.NumberFilter):
    field_class = forms.IntegerField


class MessageFilter(filters.FilterSet):
    contact = IdFilter(field_name="contact_id", help_text="Contact id.")
    wa_id = filters.CharFilter(field_name="contact__wa_id", help_text="The contact's wa_id.")
    user_id = filters.CharFilter(
        field_name="contact__user_id", help_text="The contact's business-scoped user id (BSUID)."
    )
    wamid = filters.CharFilter(field_name="wamid")
    type = filters.CharFilter(field_name="type", help_text="text, image, template, ...")
    status = filters.ChoiceFilter(choices=WhatsAppMessage.Status.choices)
    direction = filters.ChoiceFilter(choices=WhatsAppMessage.Direction.choices)
    since = UtcIsoDateTimeFilter(
        field_name="timestamp", lookup_expr="gte", help_text="timestamp >= since (ISO 8601)."
    )
    until = UtcIsoDateTimeFilter(
        field_name="timestamp", lookup_expr="lt", help_text="timestamp < until (ISO 8601)."
    )
    # A substring scan in timestamp order: fine for recent matches, slow for rare words over
    # millions of rows; a pg_trgm GIN index on `text` is the next step (see benchmarks).
    q = filters.CharFilter(
        field_name="text", lookup_expr="icontains", help_text="Text or caption contains."
    )

    class Meta:
        model = WhatsAppMessage
        fields = [
            "contact",
            "wa_id",
            "user_id",
            "wamid",
            "type",
            "status",
            "direction",
            "since",
            "until",
            "q",
        ]


class ContactFilter(filters.FilterSet):
    wa_id = filters.CharFilter(field_name="wa_id")
    user_id = filters.CharFilter(field_name="user_id")
    username = filters.CharFilter(field_name="username", lookup_expr="iexact")
    q = filters.CharFilter(field_name="name", lookup_expr="icontains", help_text="Name contains.")
    since = UtcIsoDateTimeFilter(
        field_name="last_seen", lookup_expr="gte", help_text="last_seen >= since (ISO 8601)."
    )
    until = UtcIsoDateTimeFilter(
        field_name="last_seen", lookup_expr="lt", help_text="last_seen < until (ISO 8601)."
    )

    class Meta:
        model = Contact
        fields = ["wa_id", "user_id", "username", "q", "since", "until"]


class MediaFilter(filters.FilterSet):
    message = IdFilter(field_name="message_id", help_text="Message id.")
    mime_type = filters.CharFilter(
        field_name="mime_type", lookup_expr="istartswith", help_text="Prefix, e.g. `image/`."
    )
    state = filters.ChoiceFilter(choices=WhatsAppMedia.State.choices)

    class Meta:
        model = WhatsAppMedia
        fields = ["message", "mime_type", "state"]
