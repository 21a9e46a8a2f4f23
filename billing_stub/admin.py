"""Django admin on the public host: staff edit plans (through the audited service) and read
subscriptions and invoices. Plan moves go through `subscription_change_plan` (the console)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin

from billing_stub.models import Invoice, InvoiceLine, Plan, Subscription
from billing_stub.services.subscriptions import PLAN_FIELDS, plan_update


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "price", "currency", "outbound_messages_per_month"]
    readonly_fields = ["updated_at"]

    def get_readonly_fields(self, request: Any, obj: Plan | None = None) -> list[str]:
        return [*self.readonly_fields, "code"] if obj is not None else self.readonly_fields

    def save_model(self, request: Any, obj: Plan, form: Any, change: bool) -> None:
        if not change:
            super().save_model(request, obj, form, change)
            return
        changes = {f: form.cleaned_data[f] for f in form.changed_data if f in PLAN_FIELDS}
        plan_update(plan_code=obj.code, changes=changes, actor=request.user, reason="admin")

    def has_delete_permission(self, request: Any, obj: Plan | None = None) -> bool:
        return False


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    list_display = ["organization", "plan", "status", "current_period_end", "past_due_since"]
    list_filter = ["status", "plan"]

    def has_change_permission(self, request: Any, obj: Subscription | None = None) -> bool:
        return False

    def has_add_permission(self, request: Any) -> bool:
        return False


class InvoiceLineInline(admin.TabularInline):
    model = InvoiceLine
    extra = 0
    can_delete = False
    readonly_fields = ["kind", "description", "category", "quantity", "unit_amount", "amount"]


@admin.register(Invoice)
class InvoiceAdmin(admin.ModelAdmin):
    list_display = ["number", "organization", "period_start", "total", "currency", "status"]
    list_filter = ["status"]
    inlines = [InvoiceLineInline]

    def has_change_permission(self, request: Any, obj: Invoice | None = None) -> bool:
        return False

    def has_add_permission(self, request: Any) -> bool:
        return False
