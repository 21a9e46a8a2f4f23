"""Django admin for the shared webhook (public host, platform staff): events, changes, replay,
and the account events handlers record. Bodies and values (customer messages) are never shown."""

from __future__ import annotations

from django.contrib import admin

from tenants.models import AccountEvent, RawWebhookEvent, WebhookChange
from whatsapp.webhooks.replay import webhook_replay


class ReadOnlyAdmin(admin.ModelAdmin):
    """Webhook records are evidence: staff inspect and replay them, never edit them."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(RawWebhookEvent)
class RawWebhookEventAdmin(ReadOnlyAdmin):
    # The body (customer messages) is not shown: its size, hash and state say what staff need.
    list_display = ["pk", "state", "received_at", "deliveries", "body_size", "error"]
    list_filter = ["state"]
    fields = ["state", "received_at", "deliveries", "body_sha256", "body_size", "headers", "error"]
    readonly_fields = fields
    date_hierarchy = "received_at"

    @admin.display(description="bytes")
    def body_size(self, obj: RawWebhookEvent) -> int:
        return len(obj.body or b"")


@admin.register(WebhookChange)
class WebhookChangeAdmin(ReadOnlyAdmin):
    list_display = [
        "pk",
        "event_id",
        "field",
        "phone_number_id",
        "organization",
        "state",
        "attempts",
        "created_at",
    ]
    list_filter = ["state", "field"]
    search_fields = ["phone_number_id", "waba_id", "event__id"]
    list_select_related = ["organization"]
    exclude = ["value"]
    readonly_fields = [
        "event",
        "entry_index",
        "change_index",
        "field",
        "phone_number_id",
        "waba_id",
        "organization",
        "state",
        "error",
        "attempts",
        "created_at",
        "processed_at",
    ]
    actions = ["replay"]

    @admin.action(description="Replay the unsettled changes of their events")
    def replay(self, request, queryset) -> None:
        replayed = 0
        for event_id in queryset.values_list("event_id", flat=True).distinct():
            result = webhook_replay(event_id=event_id)
            replayed += result.requeued
        self.message_user(request, f"{replayed} change(s) queued again")


@admin.register(AccountEvent)
class AccountEventAdmin(ReadOnlyAdmin):
    list_display = ["received_at", "organization", "field", "event", "waba_id"]
    list_filter = ["field", "event"]
    search_fields = ["waba_id", "organization__slug"]
    list_select_related = ["organization"]
