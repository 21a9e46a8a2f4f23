"""API key management on an organization's host (mounted under /api/v1/)."""

from django.urls import path

from tenants.api_key_views import ApiKeyListCreateView, ApiKeyRevokeView

urlpatterns = [
    path("api-keys/", ApiKeyListCreateView.as_view(), name="api_key_list"),
    path("api-keys/<int:pk>/revoke/", ApiKeyRevokeView.as_view(), name="api_key_revoke"),
]
