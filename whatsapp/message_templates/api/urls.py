"""Templates API under /api/v1/ (mounted by whatsapp.api.urls)."""

from django.urls import path

from whatsapp.message_templates.api import views

urlpatterns = [
    path("templates/", views.TemplateList.as_view(), name="api_template_list"),
    path("templates/sync/", views.TemplateSync.as_view(), name="api_template_sync"),
    path(
        "templates/header-handles/",
        views.TemplateHeaderHandle.as_view(),
        name="api_template_header_handle",
    ),
    path("templates/<int:pk>/", views.TemplateDetail.as_view(), name="api_template_detail"),
]
