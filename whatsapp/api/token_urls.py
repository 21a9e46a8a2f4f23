"""The token exchange endpoint of the per-organization API (under /api/v1/)."""

from django.urls import path

from whatsapp.api.token_views import generate_long_lived_token_view

urlpatterns = [
    path(
        "whatsapp/token/exchange/",
        generate_long_lived_token_view,
        name="whatsapp_token_exchange",
    ),
]
