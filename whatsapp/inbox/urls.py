"""Paths of the shared inbox and contacts on the organization's host (stable: others link)."""

from __future__ import annotations

from django.urls import path

from whatsapp.inbox import contact_views, views

urlpatterns = [
    path("inbox/", views.inbox_list, name="inbox"),
    path("inbox/changes/", views.inbox_changes, name="inbox-changes"),
    path("inbox/media/<str:token>/", views.media_file, name="inbox-media"),
    path("inbox/<int:conversation_id>/", views.conversation_detail, name="conversation"),
    path(
        "inbox/<int:conversation_id>/changes/",
        views.conversation_changes,
        name="conversation-changes",
    ),
    path("inbox/<int:conversation_id>/reply/", views.conversation_reply_view, name="reply"),
    path("inbox/<int:conversation_id>/assign/", views.conversation_assign_view, name="assign"),
    path("inbox/<int:conversation_id>/notes/", views.conversation_note_view, name="note"),
    path("inbox/<int:conversation_id>/read/", views.conversation_read_view, name="mark-read"),
    path("contacts/", contact_views.contact_list_view, name="contacts"),
    path("contacts/export.csv", contact_views.contact_export, name="contacts-export"),
    path("contacts/import/", contact_views.contact_import, name="contacts-import"),
    path("contacts/<int:contact_id>/", contact_views.contact_detail, name="contact"),
    path("contacts/<int:contact_id>/tags/", contact_views.contact_tags, name="contact-tags"),
]
