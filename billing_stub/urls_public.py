"""Billing URLs of the public host (mounted under /billing/ by saas_platform.urls_public)."""

from django.urls import path

from billing_stub.webhooks import payment_webhook

urlpatterns = [path("webhooks/payments/", payment_webhook, name="billing_payment_webhook")]
