"""Authentication endpoints of the per-organization API (mounted under /api/v1/)."""

from django.urls import path
from rest_framework_simplejwt.views import TokenObtainPairView, TokenRefreshView

from tenants.api_auth import OrgTokenObtainPairSerializer, OrgTokenRefreshSerializer

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
]
