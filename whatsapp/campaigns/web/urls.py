"""The campaign pages on the organization's host."""

from django.urls import path

from whatsapp.campaigns.web import views

urlpatterns = [
    path("campaigns/", views.campaign_list, name="campaigns-list"),
    path("campaigns/<int:campaign_id>/", views.campaign_page, name="campaigns-page"),
    path(
        "campaigns/<int:campaign_id>/progress/",
        views.campaign_progress_fragment,
        name="campaigns-progress",
    ),
    path(
        "campaigns/<int:campaign_id>/results.csv",
        views.campaign_results,
        name="campaigns-results",
    ),
    path(
        "campaigns/<int:campaign_id>/<slug:action>/",
        views.campaign_action,
        name="campaigns-action",
    ),
]
