"""URLs of an organization's host (`<slug>.<BASE_DOMAIN>`): health, web app and REST API."""

from __future__ import annotations

from django.urls import include, path

urlpatterns = [
    path("", include("tenants.health_urls")),
    path("api/v1/", include("tenants.api_urls")),
    path("api/v1/", include("tenants.api_key_urls")),
    path("api/v1/", include("whatsapp.api.urls")),
    path("api/v1/", include("whatsapp.chatbot.api.urls")),
    path("api/v1/", include("whatsapp.campaigns.api.urls")),
    path("api/v1/", include("billing_stub.api.urls")),
    # The web app: shell, sign-in, settings (tenants.webapp), then each feature's pages.
    path("", include("tenants.webapp.urls")),
    path("", include("whatsapp.dashboard.urls")),
    path("", include("whatsapp.numbers.urls")),
    # The shared inbox and contacts (whatsapp.inbox).
    path("", include("whatsapp.inbox.urls")),
    path("", include("whatsapp.chatbot.web.urls")),
    path("", include("whatsapp.message_templates.web.urls")),
    path("", include("whatsapp.campaigns.web.urls")),
    path("", include("billing_stub.web.urls")),
]

handler404 = "whatsapp.api.exceptions.api_not_found"
handler500 = "saas_platform.errors.server_error"
