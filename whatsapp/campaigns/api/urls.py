"""Campaign endpoints of the per-organization API (under /api/v1/campaigns/)."""

from django.urls import path

from whatsapp.campaigns.api import views

urlpatterns = [
    path("campaigns/", views.CampaignListCreate.as_view(), name="campaign_list"),
    path("campaigns/<int:pk>/", views.CampaignDetail.as_view(), name="campaign_detail"),
    path("campaigns/<int:pk>/plan/", views.CampaignPlan.as_view(), name="campaign_plan"),
    path("campaigns/<int:pk>/start/", views.CampaignStart.as_view(), name="campaign_start"),
    path("campaigns/<int:pk>/pause/", views.CampaignPause.as_view(), name="campaign_pause"),
    path("campaigns/<int:pk>/resume/", views.CampaignResume.as_view(), name="campaign_resume"),
    path("campaigns/<int:pk>/cancel/", views.CampaignCancel.as_view(), name="campaign_cancel"),
    path("campaigns/<int:pk>/retry/", views.CampaignRetry.as_view(), name="campaign_retry"),
    path(
        "campaigns/<int:pk>/recipients/",
        views.CampaignRecipients.as_view(),
        name="campaign_recipients",
    ),
    path(
        "campaigns/<int:pk>/results.csv", views.CampaignResults.as_view(), name="campaign_results"
    ),
]
