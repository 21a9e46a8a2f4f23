from django.apps import AppConfig


class CampaignsConfig(AppConfig):
    name = "whatsapp.campaigns"
    label = "campaigns"
    verbose_name = "Campaigns (bulk messaging)"
    default_auto_field = "django.db.models.BigAutoField"
