"""URLs of an organization's host (`<slug>.<BASE_DOMAIN>`): health, portal and REST API."""

from __future__ import annotations

from django.urls import include, path

urlpatterns = [
    path("", include("tenants.health_urls")),
    path("api/v1/", include("tenants.api_urls")),
    path("api/v1/", include("tenants.api_key_urls")),
    path("api/v1/", include("whatsapp.api.urls")),
    path("api/v1/", include("whatsapp.chatbot.api.urls")),
]

handler404 = "whatsapp.api.exceptions.api_not_found"
