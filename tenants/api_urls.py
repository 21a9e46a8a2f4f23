"""Authentication endpoints of the per-organization API (mounted under /api/v1/)."""

from django.urls import path
from rest_framework_simplejwt.views import TokenObtainPairView, TokenRefreshView

from tenants.api_auth import OrgTokenObtainPairSerializer, OrgTokenRefreshSerializer
from tenants.token_views import generate_long_lived_token_view

urlpatterns = [
    path(
        "auth/token/",
        TokenObtainPairView.as_view(serializer_class=OrgTokenObtainPairSerializer),
        name="token_obtain_pair",
    ),
    path(
        "auth/token/refresh/",
        TokenRefreshView.as_view(serializer_class=OrgTokenRefreshSerializer),
        name="token_refresh",
    ),
    path(
        "whatsapp/token/exchange/",
        generate_long_lived_token_view,
        name="whatsapp_token_exchange",
    ),
]
