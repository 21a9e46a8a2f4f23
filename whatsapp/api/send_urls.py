"""Send endpoints of the per-organization API (under /api/v1/)."""

from django.urls import path

from whatsapp.api import send_views

urlpatterns = [
    path("messages/send/", send_views.SendMessageView.as_view(), name="api_message_send"),
    path(
        "messages/<int:pk>/read/", send_views.MarkReadView.as_view(), name="api_message_mark_read"
    ),
]
