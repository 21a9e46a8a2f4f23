"""The per-organization REST API under /api/v1/ (mounted by saas_platform.urls_tenant)."""

from django.urls import include, path

urlpatterns = [
    path("", include("whatsapp.api.send_urls")),
    path("", include("whatsapp.api.data_urls")),
    path("", include("whatsapp.api.token_urls")),
    path("", include("whatsapp.webhooks.api_urls")),
    path("", include("whatsapp.message_templates.api.urls")),
]
