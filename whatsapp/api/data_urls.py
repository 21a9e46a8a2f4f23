"""Read endpoints of the per-organization API, and its OpenAPI schema and docs (under /api/v1/)."""

from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from whatsapp.api import media_link_views, views

urlpatterns = [
    path("messages/", views.WhatsAppMessageList.as_view(), name="api_message_list"),
    path("messages/incoming/", views.IncomingMessageList.as_view(), name="api_message_incoming"),
    path("messages/outgoing/", views.OutgoingMessageList.as_view(), name="api_message_outgoing"),
    path("messages/<int:pk>/", views.WhatsAppMessageDetail.as_view(), name="api_message_detail"),
    path("contacts/", views.ContactList.as_view(), name="api_contact_list"),
    path("contacts/<int:pk>/", views.ContactDetail.as_view(), name="api_contact_detail"),
    path("contacts/<int:pk>/merge/", views.ContactMergeView.as_view(), name="api_contact_merge"),
    path("media/", views.WhatsAppMediaList.as_view(), name="api_media_list"),
    path("media/<int:pk>/", views.WhatsAppMediaDetail.as_view(), name="api_media_detail"),
    path(
        "media/<int:pk>/download/",
        views.WhatsAppMediaDownload.as_view(),
        name="api_media_download",
    ),
    path(
        "media/<int:pk>/link/",
        media_link_views.MediaLinkCreateView.as_view(),
        name="api_media_link_create",
    ),
    path(
        "media/link/<str:token>/",
        media_link_views.MediaLinkDownloadView.as_view(),
        name="api_media_link_download",
    ),
    # Public on purpose: the schema describes the API, it holds no organization's data.
    path(
        "schema/",
        SpectacularAPIView.as_view(authentication_classes=[], permission_classes=[]),
        name="api_schema",
    ),
    path(
        "docs/",
        # The split view serves Swagger UI's start-up script as a file (`docs/?script=`), not an
        # inline <script>, so the docs work under the production Content-Security-Policy.
        SpectacularSwaggerSplitView.as_view(
            url_name="api_schema", authentication_classes=[], permission_classes=[]
        ),
        name="api_docs",
    ),
]
