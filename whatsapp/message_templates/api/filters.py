"""Query filters of the templates list (django-filter; in the OpenAPI schema)."""

from __future__ import annotations

from django_filters import rest_framework as filters

from whatsapp.message_templates.models import MessageTemplate


class TemplateFilter(filters.FilterSet):
    status = filters.CharFilter(
        field_name="status", help_text="Meta's status: APPROVED, PENDING, REJECTED, PAUSED, ..."
    )
    category = filters.CharFilter(
        field_name="category", help_text="MARKETING, UTILITY or AUTHENTICATION."
    )
    language = filters.CharFilter(field_name="language", help_text="e.g. en_US.")
    name = filters.CharFilter(field_name="name", lookup_expr="icontains", help_text="Contains.")
    waba_id = filters.CharFilter(field_name="waba_id")
    deleted_at_meta = filters.BooleanFilter(field_name="deleted_at_meta")

    class Meta:
        model = MessageTemplate
        fields = ["status", "category", "language", "name", "waba_id", "deleted_at_meta"]
