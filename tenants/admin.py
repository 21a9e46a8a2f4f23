"""Django admin on the public host, for platform staff. Tokens are only ever shown masked."""

from __future__ import annotations

from django.contrib import admin

from tenants.models import (
    AuditEntry,
    Domain,
    Membership,
    Organization,
    OrganizationDeletion,
    PhoneNumber,
    SchemaMigrationState,
    WhatsAppCredential,
)


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
    list_display = [
        "display_number",
        "phone_number_id",
        "waba_id",
        "organization",
        "quality_rating",
        "messaging_limit_tier",
    ]
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
    """Rows written by services only (the audit log, deletions, migration progress)."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "actor_label", "action", "org_slug", "reason"]
    list_filter = ["action"]
    search_fields = ["org_slug", "actor_label", "=org_id"]


@admin.register(OrganizationDeletion)
class OrganizationDeletionAdmin(ReadOnlyAdmin):
    list_display = ["org_slug", "state", "requested_at", "scheduled_for", "export_ready_at"]
    list_filter = ["state"]


@admin.register(SchemaMigrationState)
class SchemaMigrationStateAdmin(ReadOnlyAdmin):
    list_display = ["schema_name", "state", "target", "applied", "seconds", "finished_at"]
    list_filter = ["state", "target"]
    search_fields = ["schema_name"]
