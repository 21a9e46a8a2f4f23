"""Django admin on the public host, for platform staff. Tokens are only ever shown masked."""

from __future__ import annotations

from django.contrib import admin

from tenants.models import (
    Domain,
    Membership,
    Organization,
    PhoneNumber,
    RawWebhookEvent,
    WebhookChange,
    WhatsAppCredential,
)
from tenants.services.webhooks import webhook_replay


class DomainInline(admin.TabularInline):
    model = Domain
    extra = 0


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ["slug", "name", "status", "schema_name", "org_id", "created_at"]
    list_filter = ["status"]
    search_fields = ["slug", "name", "org_id"]
    readonly_fields = ["org_id", "schema_name", "created_at"]
    inlines = [DomainInline, MembershipInline]


@admin.register(PhoneNumber)
class PhoneNumberAdmin(admin.ModelAdmin):
    list_display = ["display_number", "phone_number_id", "waba_id", "organization"]
    search_fields = ["phone_number_id", "display_number", "waba_id"]
    list_select_related = ["organization"]


@admin.register(WhatsAppCredential)
class WhatsAppCredentialAdmin(admin.ModelAdmin):
    """Read-only: tokens are set through connect_number or the token exchange endpoint."""

    list_display = ["organization", "masked", "state", "expires_at", "refreshed_at"]
    list_filter = ["state"]
    fields = ["organization", "masked", "state", "expires_at", "refreshed_at", "last_error"]
    readonly_fields = fields

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


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
            replayed += result.enqueued
        self.message_user(request, f"{replayed} change(s) enqueued again")
