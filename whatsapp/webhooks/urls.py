"""The shared webhook, mounted under `webhooks/` on the public host."""

from __future__ import annotations

from django.urls import path

from whatsapp.webhooks.views import whatsapp_webhook_view

urlpatterns = [
    path("whatsapp/", whatsapp_webhook_view, name="whatsapp-webhook"),
]
