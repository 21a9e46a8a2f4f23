"""Paths of the template pages on an organization's host."""

from __future__ import annotations

from django.urls import path

from whatsapp.message_templates.web import views

urlpatterns = [
    path("templates/", views.template_list, name="templates-list"),
    path("templates/sync/", views.template_sync_now, name="templates-sync"),
    path("templates/new/", views.template_new, name="templates-new"),
    path("templates/review/", views.template_review_live, name="templates-review"),
    path("templates/picker/", views.template_picker, name="templates-picker"),
    path("templates/picker/send/", views.template_picker_send, name="templates-picker-send"),
    path("templates/<int:pk>/edit/", views.template_change, name="templates-edit"),
    path("templates/<int:pk>/delete/", views.template_remove, name="templates-delete"),
]
