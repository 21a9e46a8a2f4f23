"""Query filters of the list endpoints (django-filter; documented in the OpenAPI schema)."""

from __future__ import annotations

from django_filters import rest_framework as filters

from whatsapp.models import Contact, WhatsAppMedia, WhatsAppMessage


class MessageFilter(filters.FilterSet):
    contact = filters.NumberFilter(field_name="contact_id", help_text="Contact id.")
    wa_id = filters.CharFilter(field_name="contact__wa_id", help_text="The contact's wa_id.")
    user_id = filters.CharFilter(
        field_name="contact__user_id", help_text="The contact's business-scoped user id (BSUID)."
    )
    wamid = filters.CharFilter(field_name="wamid")
    type = filters.CharFilter(field_name="type", help_text="text, image, template, ...")
    status = filters.ChoiceFilter(choices=WhatsAppMessage.Status.choices)
    direction = filters.ChoiceFilter(choices=WhatsAppMessage.Direction.choices)
    since = filters.IsoDateTimeFilter(
        field_name="timestamp", lookup_expr="gte", help_text="timestamp >= since (ISO 8601)."
    )
    until = filters.IsoDateTimeFilter(
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
    since = filters.IsoDateTimeFilter(
        field_name="last_seen", lookup_expr="gte", help_text="last_seen >= since (ISO 8601)."
    )
    until = filters.IsoDateTimeFilter(
        field_name="last_seen", lookup_expr="lt", help_text="last_seen < until (ISO 8601)."
    )

    class Meta:
        model = Contact
        fields = ["wa_id", "user_id", "username", "q", "since", "until"]


class MediaFilter(filters.FilterSet):
    message = filters.NumberFilter(field_name="message_id", help_text="Message id.")
    mime_type = filters.CharFilter(
        field_name="mime_type", lookup_expr="istartswith", help_text="Prefix, e.g. `image/`."
    )
    state = filters.ChoiceFilter(choices=WhatsAppMedia.State.choices)

    class Meta:
        model = WhatsAppMedia
        fields = ["message", "mime_type", "state"]
