"""`/console/` on the public host (saas_platform.urls_public)."""

from __future__ import annotations

from django.urls import path

from whatsapp.console import views_auth, views_events, views_ops, views_tenants

urlpatterns = [
    path("", views_tenants.home, name="console-home"),
    path("login/", views_auth.console_login, name="console-login"),
    path("verify/", views_auth.console_verify, name="console-verify"),
    path("logout/", views_auth.console_logout, name="console-logout"),
    path("tenants/", views_tenants.tenants, name="console-tenants"),
    path("tenants/new/", views_tenants.tenant_new, name="console-tenant-new"),
    path("tenants/<slug:slug>/", views_tenants.tenant_detail, name="console-tenant"),
    path(
        "tenants/<slug:slug>/suspend/",
        views_tenants.tenant_suspend_view,
        name="console-tenant-suspend",
    ),
    path(
        "tenants/<slug:slug>/reactivate/",
        views_tenants.tenant_reactivate_view,
        name="console-tenant-reactivate",
    ),
    path(
        "tenants/<slug:slug>/plan/",
        views_tenants.tenant_plan_view,
        name="console-tenant-plan",
    ),
    path(
        "tenants/<slug:slug>/delete/",
        views_tenants.tenant_delete_view,
        name="console-tenant-delete",
    ),
    path(
        "tenants/<slug:slug>/delete/cancel/",
        views_tenants.tenant_delete_cancel_view,
        name="console-tenant-delete-cancel",
    ),
    path(
        "tenants/<slug:slug>/token/refresh/",
        views_tenants.tenant_token_refresh_view,
        name="console-tenant-token-refresh",
    ),
    path(
        "tenants/<slug:slug>/numbers/<str:phone_number_id>/check/",
        views_tenants.tenant_number_check_view,
        name="console-tenant-number-check",
    ),
    path("events/", views_events.events, name="console-events"),
    path("events/replay/", views_events.events_replay_filtered, name="console-events-replay"),
    path("events/unroutable/", views_events.unroutable, name="console-unroutable"),
    path("events/<int:event_id>/", views_events.event_detail, name="console-event"),
    path("events/<int:event_id>/replay/", views_events.event_replay, name="console-event-replay"),
    path("health/", views_ops.health, name="console-health"),
    path("audit/", views_ops.audit, name="console-audit"),
]
