"""Representations of usage and invoices in the organization's API."""

from __future__ import annotations

from rest_framework import serializers

from billing_stub.models import Invoice, InvoiceLine


class LimitUsageSerializer(serializers.Serializer):
    limit = serializers.CharField(help_text="Plan limit name, e.g. `outbound_messages_per_month`.")
    used = serializers.IntegerField(
        help_text="Used in the current period (current count for numbers, members, contacts; "
        "0 for the per-minute API rate, which is a moving window)."
    )
    allowed = serializers.IntegerField(allow_null=True, help_text="null: unlimited.")
    resets_at = serializers.DateTimeField(
        allow_null=True, help_text="Period limits: when the count starts again."
    )


class MetaCategorySerializer(serializers.Serializer):
    category = serializers.CharField(help_text="Meta pricing category, e.g. `marketing`.")
    messages = serializers.IntegerField(help_text="Messages Meta priced in this category.")
    charged = serializers.IntegerField(help_text="Of those, the ones not free.")
    cost = serializers.DecimalField(max_digits=16, decimal_places=6, help_text="Estimate.")


class DailySerializer(serializers.Serializer):
    day = serializers.DateField(help_text="The organization's local calendar day.")
    outbound_messages = serializers.IntegerField()
    inbound_messages = serializers.IntegerField()
    meta_messages = serializers.IntegerField(help_text="Messages Meta priced that day.")


class UsageSerializer(serializers.Serializer):
    plan = serializers.CharField(help_text="Plan code (free, starter, pro, ...).")
    status = serializers.CharField(help_text="trialing, active, past_due or cancelled.")
    period_start = serializers.DateTimeField()
    period_end = serializers.DateTimeField()
    time_zone = serializers.CharField(help_text="The period is a calendar month in this zone.")
    limits = LimitUsageSerializer(many=True)
    meta_currency = serializers.CharField()
    meta_cost_total = serializers.DecimalField(max_digits=16, decimal_places=6)
    meta_by_category = MetaCategorySerializer(many=True)
    daily = DailySerializer(many=True)


class InvoiceLineSerializer(serializers.ModelSerializer):
    class Meta:
        model = InvoiceLine
        fields = ["kind", "description", "category", "quantity", "unit_amount", "amount"]


class InvoiceSerializer(serializers.ModelSerializer):
    lines = InvoiceLineSerializer(many=True, read_only=True)
    # A plain string in the schema: an enum named `status` would collide with the messages'.
    status = serializers.CharField(help_text="`open` (charge pending), `paid` or `failed`.")

    class Meta:
        model = Invoice
        fields = [
            "number",
            "period_start",
            "period_end",
            "plan_code",
            "currency",
            "total",
            "status",
            "failure_reason",
            "issued_at",
            "settled_at",
            "lines",
        ]
