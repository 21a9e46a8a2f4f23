"""URLs of the public host: health, signup portal, superadmin console, admin, shared webhook."""

from __future__ import annotations

from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django_otp.admin import OTPAdminSite

from saas_platform.metrics import metrics_view

if settings.CONSOLE_OTP_REQUIRED:
    # Staff reach the Django admin with the same second factor as the console (a session
    # verified at /console/verify/); a password alone is not enough there either.
    admin.site.__class__ = OTPAdminSite

# The shared webhook first: Meta's POSTs are most of this host's requests, and URL resolution
# tries patterns in order.
urlpatterns = [
    path("webhooks/", include("whatsapp.webhooks.urls")),
    path("", include("tenants.health_urls")),
    path("", include("tenants.portal.urls")),
    # The superadmin console (platform staff with a second factor).
    path("console/", include("whatsapp.console.urls")),
    path("admin/", admin.site.urls),
    # The payment provider's webhook (billing_stub.payments).
    path("billing/", include("billing_stub.urls_public")),
    # For the Prometheus scraper only (METRICS_TOKEN or METRICS_ALLOWED_NETWORKS).
    path("metrics", metrics_view, name="metrics"),
]

handler404 = "whatsapp.api.exceptions.api_not_found"
handler500 = "saas_platform.errors.server_error"
