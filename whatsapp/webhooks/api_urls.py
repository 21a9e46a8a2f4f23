"""The organization's read-only view of account-level webhooks (mounted under /api/v1/)."""

from django.urls import path

from whatsapp.webhooks import api

urlpatterns = [
    path("whatsapp/numbers/", api.NumberHealthList.as_view(), name="api_number_health"),
    path("whatsapp/account-events/", api.AccountEventList.as_view(), name="api_account_events"),
]
