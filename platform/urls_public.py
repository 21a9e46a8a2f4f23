"""URLs of the public host: health, signup portal, superadmin console, admin, shared webhook."""

from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

# The shared webhook first: Meta's POSTs are most of this host's requests, and URL resolution
# tries patterns in order.
urlpatterns = [
    path("webhooks/", include("whatsapp.webhooks.urls")),
    path("", include("tenants.health_urls")),
    path("", include("tenants.portal.urls")),
    path("admin/", admin.site.urls),
]

handler404 = "whatsapp.api.exceptions.api_not_found"
